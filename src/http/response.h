// Serializing a Response onto the wire (RFC 9112 4 and 6): status line, the
// handler's headers, Content-Length, Date and Connection. Pure, no I/O.
#pragma once

#include <chrono>
#include <string>

#include "http/message.h"

namespace efs::http {

// "OK", "Not Found", ...; "Unknown" for a code without a standard phrase.
const char* reason_phrase(int status);

// IMF-fixdate (RFC 9110 5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::chrono::system_clock::time_point t);

// The bytes of a response. Content-Length, Date and Connection from the
// handler are replaced. keep_alive false adds "Connection: close". For a HEAD
// request the body is left out but Content-Length still gives its length
// (RFC 9110 9.3.2); 1xx/204/304 carry no body and 204 no Content-Length (RFC 9110 8.6).
std::string serialize_response(const Response& response, bool keep_alive, bool head_request);

// A plain-text response for a protocol error found by the parser (400, 413, ...).
Response protocol_error_response(int status, const std::string& message);

}  // namespace efs::http
