// HTTP/1.1 request and response as the handlers see them: already parsed,
// body de-chunked, header names lower-cased.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace efs::http {

struct Request {
  std::string method;   // "GET", "POST", ...
  std::string target;   // raw request-target, e.g. "/2015-02-01/file-systems?MaxItems=2"
  std::string path;     // percent-decoded path part of target
  std::string raw_path; // path part of target as received (not decoded)
  // Query parameters in order, percent-decoded ('+' is a space); a key may repeat.
  std::vector<std::pair<std::string, std::string>> query;
  // Header names lower-cased; repeated headers joined with ", ".
  std::map<std::string, std::string> headers;
  std::string body;
  std::string remote_address;  // peer IP, for logs
  std::string local_address;   // the address the connection was accepted on

  const std::string* header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // as sent (Content-Length added)
  std::string body;

  Response& set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// Called for each complete request, on an io_context thread. Must not throw.
using Handler = std::function<Response(const Request&)>;

}  // namespace efs::http
