// `codeswarm ui`: the web UI's address (docs/WEB_UI.md).
#pragma once

#include <string>

#include "cli/session.h"

namespace codeswarm::cli {

// The page's URL for `http_port`: http://127.0.0.1:<port>/.
std::string WebUiUrl(int http_port);

// Makes sure the router runs (starting it like any command), prints the page's URL (with
// --json: {"url": ...}) and, when a browser can be shown (xdg-open on PATH and a display),
// opens it there. Exit 2 when the config turns the web UI off (router.http_port 0).
int OpenUi(const GlobalOptions& options, bool open_browser);

}  // namespace codeswarm::cli
