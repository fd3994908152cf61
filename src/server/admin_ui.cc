#include "server/admin_ui.h"

#include <string_view>

#include "server/admin.h"

namespace efs::server::ui {
// tools/embed.py's output (src/server/meson.build).
std::string_view index_html();
std::string_view ui_js();
std::string_view ui_css();
}  // namespace efs::server::ui

namespace efs::server {

std::optional<http::Response> handle_ui(const http::Request& req, const std::string& what) {
  std::string_view body, type;
  if (what == "ui" || what == "ui/" || what == "ui/index.html") {
    body = ui::index_html();
    type = "text/html; charset=utf-8";
  } else if (what == "ui/ui.js") {
    body = ui::ui_js();
    type = "text/javascript; charset=utf-8";
  } else if (what == "ui/ui.css") {
    body = ui::ui_css();
    type = "text/css; charset=utf-8";
  } else if (what.rfind("ui/", 0) == 0) {
    return admin_error(404, "NotFound", "the dashboard has no file " + req.path);
  } else {
    return std::nullopt;
  }
  if (req.method != "GET" && req.method != "HEAD")
    return admin_error(405, "MethodNotAllowed", "use GET");
  http::Response r;
  r.status = 200;
  r.set_header("Content-Type", std::string(type));
  // The files change only with the binary; the page polls for what changes.
  r.set_header("Cache-Control", "no-cache");
  r.set_header("X-Content-Type-Options", "nosniff");
  r.body = std::string(body);
  return r;
}

}  // namespace efs::server
