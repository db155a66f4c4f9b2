// Entry point of `codeswarm worker`: started by providers, not by people.
#pragma once

namespace codeswarm::worker {

// Reads its identity from the environment (see docs/WORKER_PROTOCOL.md), connects to the router
// and serves injections until terminated. Returns the process exit code.
int RunWorker();

}  // namespace codeswarm::worker
