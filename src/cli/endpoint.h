// The router's address as the CLI names it: "HOST:PORT" on the command line, router.host and
// router.port in the config.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace codeswarm::cli {

struct Endpoint {
  std::string host;
  int port = 0;

  // "127.0.0.1:8765", "[::1]:8765"
  std::string ToString() const;
};

// Parses "HOST:PORT" or "[IPV6]:PORT" (port 1-65535).
Result<Endpoint> ParseEndpoint(std::string_view text);

// True for names this machine answers itself: 127.0.0.0/8, ::1 and "localhost". Only for those
// does the CLI start a router when none answers.
bool IsLoopbackHost(std::string_view host);

}  // namespace codeswarm::cli
