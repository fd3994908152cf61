// GET /_efs-local/ui: the dashboard, a page of HTML, JavaScript and CSS
// compiled into the binary (src/server/ui/, embedded by tools/embed.py). The
// page itself polls the JSON endpoints and the EFS API; the server only
// serves its three files.
#pragma once

#include <optional>
#include <string>

#include "http/message.h"

namespace efs::server {

// `what` is the path after /_efs-local/. nullopt when it is not the
// dashboard's ("ui", "ui/", "ui/ui.js", "ui/ui.css").
std::optional<http::Response> handle_ui(const http::Request& req, const std::string& what);

}  // namespace efs::server
