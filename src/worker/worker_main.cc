#include "worker/worker_main.h"

#include <cstdio>

namespace codeswarm::worker {

int RunWorker() {
  std::fprintf(stderr, "codeswarm worker: not built yet\n");
  return 70;
}

}  // namespace codeswarm::worker
