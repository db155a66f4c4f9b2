#include "cli/cli.h"

#include <cstdio>

namespace codeswarm::cli {

int Main(int argc, char** argv) {
  std::fprintf(stderr, "codeswarm: not built yet\n");
  return 70;
}

}  // namespace codeswarm::cli
