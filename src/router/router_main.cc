#include "router/router_main.h"

#include <cstdio>

namespace codeswarm::router {

int RunRouter(const Config& config, const RouterRunOptions& options) {
  std::fprintf(stderr, "codeswarm router: not built yet\n");
  return 70;
}

}  // namespace codeswarm::router
