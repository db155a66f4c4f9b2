// The codex agent: one `codex app-server` process per node, one codex thread per node (so the
// conversation carries over from turn to turn), one codex turn per injection.
//
// The handshake is initialize, initialized, thread/start (with the system prompt). A turn sends
// turn/start and maps what follows through CodexTurnMapper until turn/completed, answering
// approval requests on the way; an interrupt is turn/interrupt, sent once codex has named the
// turn. The handshake may take 60 s; an interrupted turn has 10 s to end. Its stderr goes to
// codex.stderr.log in the node's directory. Process handling (spawn, interrupt grace, a dying
// process) is ProcessAgent's.
#pragma once

#include <memory>

#include "worker/agent_settings.h"
#include "common/clock.h"
#include "worker/agent.h"

namespace codeswarm::worker::codex {

// REQUIRES: `clock` outlives the agent.
std::unique_ptr<Agent> MakeCodexAgent(CodexAgentSettings settings,
                                      const Clock& clock = SystemClock::Get());

}  // namespace codeswarm::worker::codex
