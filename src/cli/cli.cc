#include "cli/cli.h"

#include <cstdio>
#include <optional>
#include <string>

#include "common/config.h"
#include "router/router_main.h"
#include "worker/worker_main.h"

namespace codeswarm::cli {

// Temporary dispatcher until the command table lands.
int Main(int argc, char** argv) {
  std::optional<std::string> config_path;
  int i = 1;
  if (argc > 2 && std::string(argv[1]) == "--config") {
    config_path = argv[2];
    i = 3;
  }
  if (i < argc && std::string(argv[i]) == "worker") return worker::RunWorker();
  if (i < argc && std::string(argv[i]) == "router") {
    auto config = LoadConfig(config_path);
    if (!config.ok()) {
      std::fprintf(stderr, "codeswarm: %s\n", config.status().message().c_str());
      return 2;
    }
    return router::RunRouter(*config, {});
  }
  std::fprintf(stderr, "codeswarm: not built yet\n");
  return 70;
}

}  // namespace codeswarm::cli
