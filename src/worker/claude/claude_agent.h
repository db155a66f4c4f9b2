// The claude agent: one long-lived Claude Code process per node (so the conversation carries
// over from turn to turn), one user message on its stdin per injection; the turn ends at
// claude's `result` message.
//
// The handshake is the stream-json `initialize` control request: its answer proves that the
// binary runs and accepted its command line (ClaudeSpawnOptions), so a missing binary or a bad
// flag fails Start with the cause. A turn writes the prompt and maps what follows through
// ClaudeTurnMapper, answering permission requests on the way; an interrupt is claude's
// `interrupt` control request. claude may take 60 s to answer `initialize`; an interrupted turn
// has 10 s to end. Its stderr goes to claude.stderr.log in the node's directory. Process
// handling (spawn, interrupt grace, a dying process) is ProcessAgent's.
#pragma once

#include <memory>

#include "worker/agent_settings.h"
#include "common/clock.h"
#include "worker/agent.h"

namespace codeswarm::worker::claude {

// REQUIRES: `clock` outlives the agent.
std::unique_ptr<Agent> MakeClaudeAgent(ClaudeAgentSettings settings,
                                       const Clock& clock = SystemClock::Get());

}  // namespace codeswarm::worker::claude
