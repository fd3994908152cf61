// libFuzzer target for the HTTP/1.1 request parser. The first input byte picks
// how the rest is split into feeds, so byte-boundary bugs are reachable; every
// request parsed is also serialized back as a response.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/parser.h"
#include "http/response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::size_t step = 1 + data[0] % 64;
  std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  efs::http::RequestParser parser(efs::http::ParserLimits{512, 4096});
  for (std::size_t i = 0; i <= wire.size(); i += step) {
    if (i < wire.size()) parser.feed(wire.substr(i, step));
    while (true) {
      auto status = parser.parse();
      if (status == efs::http::RequestParser::Status::kComplete) {
        efs::http::Request r = parser.take_request();
        if (r.body.size() > 4096) std::abort();  // the body limit must hold
        if (r.path.find('\0') != std::string::npos) std::abort();
        efs::http::Response resp;
        resp.body = r.body;
        for (const auto& [k, v] : r.headers) resp.set_header(k, v);
        (void)efs::http::serialize_response(resp, parser.keep_alive(), r.method == "HEAD");
        continue;
      }
      if (status == efs::http::RequestParser::Status::kError) {
        int s = parser.error_status();
        if (s < 400 || s > 505) std::abort();
        (void)parser.take_continue_needed();
        return 0;
      }
      break;
    }
  }
  return 0;
}
