// The claude agent: one long-lived Claude Code process per node (so the conversation carries
// over from turn to turn), one user message on its stdin per injection; the turn ends at
// claude's `result` message.
//
// Start spawns claude (ClaudeSpawnOptions) and sends the stream-json `initialize` control
// request: its answer proves that the binary runs and accepted its command line, so a missing
// binary or a bad flag fails Start with the cause. RunTurn writes the prompt and maps what
// follows through ClaudeTurnMapper, answering permission requests on the way. Interrupt sends
// claude's `interrupt` control request (from the agent thread, woken through the process's
// eventfd); a claude that does not end the turn within kInterruptGrace is killed. When the
// process dies, the running turn fails with its exit status and last stderr lines, and so does
// every later turn (the node needs a new swarm; the conversation is gone with the process).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "worker/agent.h"
#include "worker/agent_process.h"
#include "worker/agent_settings.h"

namespace codeswarm::worker::claude {

class ClaudeAgent : public Agent {
 public:
  // How long claude may take to start and answer `initialize`, and to end an interrupted turn.
  static constexpr std::chrono::seconds kStartTimeout{60};
  static constexpr std::chrono::seconds kInterruptGrace{10};
  // claude's stderr goes to this file in the node's directory.
  static constexpr const char* kStderrFile = "claude.stderr.log";

  // `interrupt_grace` is kInterruptGrace but for tests.
  explicit ClaudeAgent(ClaudeAgentSettings settings,
                       std::chrono::milliseconds interrupt_grace = kInterruptGrace);
  ~ClaudeAgent() override;

  Status Start(const AgentContext& context) override;
  TurnOutcome RunTurn(const TurnRequest& turn, TurnSink& sink) override;
  void Interrupt() override;
  void Stop() override;

 private:
  // Sends `initialize` and waits for its answer.
  Status Initialize();
  // Marks the process as gone (killing it) and returns the failed outcome naming why.
  TurnOutcome ProcessGone(std::string why);
  std::string NextRequestId(std::string_view what);

  const ClaudeAgentSettings settings_;
  const std::chrono::milliseconds interrupt_grace_;
  std::unique_ptr<AgentProcess> process_;  // set by Start, then used by Interrupt (Wake only)
  std::string gone_;                        // set once the process is gone: why
  int64_t next_request_ = 0;
  std::atomic<bool> interrupt_requested_{false};
};

}  // namespace codeswarm::worker::claude
