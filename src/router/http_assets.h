// The web page's files, compiled into the binary from web/ by the build (cmake/EmbedWeb.cmake
// writes the table into a generated .cc).
#pragma once

#include <string_view>

namespace codeswarm::router {

struct HttpAsset {
  std::string_view path;          // "/index.html", "/app.js", ...
  std::string_view content_type;  // "text/html; charset=utf-8", ...
  std::string_view body;
};

// The asset served at `path`, or null. "/" is "/index.html".
const HttpAsset* FindHttpAsset(std::string_view path);

}  // namespace codeswarm::router
