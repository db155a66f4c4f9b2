// The claude agent: one long-lived Claude Code process per node (so the conversation carries
// over from turn to turn), one user message on its stdin per injection; the turn ends at
// claude's `result` message.
//
// The handshake is the stream-json `initialize` control request: its answer proves that the
// binary runs and accepted its command line (ClaudeSpawnOptions), so a missing binary or a bad
// flag fails Start with the cause. A turn writes the prompt and maps what follows through
// ClaudeTurnMapper, answering permission requests on the way; an interrupt is claude's
// `interrupt` control request. Process handling (spawn, interrupt grace, a dying process) is
// ProcessAgent's.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/agent_settings.h"
#include "worker/process_agent.h"

namespace codeswarm::worker::claude {

class ClaudeAgent : public ProcessAgent {
 public:
  // How long claude may take to start and answer `initialize`, and to end an interrupted turn.
  // Its stderr goes to claude.stderr.log in the node's directory.
  static constexpr std::chrono::seconds kStartTimeout{60};
  static constexpr std::chrono::seconds kInterruptGrace{10};

  // REQUIRES: `clock` outlives the agent.
  explicit ClaudeAgent(ClaudeAgentSettings settings, const Clock& clock = SystemClock::Get());

 private:
  class ClaudeTurn;

  SpawnOptions MakeSpawnOptions(const AgentContext& context,
                                const std::string& stderr_path) const override;
  Status Handshake(const AgentContext& context, SteadyTime deadline) override;
  std::unique_ptr<Turn> NewTurn(const TurnRequest& turn, TurnSink& sink) override;

  std::string NextRequestId(std::string_view what);

  const ClaudeAgentSettings settings_;
  int64_t next_request_ = 0;
};

}  // namespace codeswarm::worker::claude
