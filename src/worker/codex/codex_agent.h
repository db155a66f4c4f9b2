// The codex agent: one `codex app-server` process per node, one codex thread per node (so the
// conversation carries over from turn to turn), one codex turn per injection.
//
// The handshake is initialize, initialized, thread/start (with the system prompt). A turn sends
// turn/start and maps what follows through CodexTurnMapper until turn/completed, answering
// approval requests on the way; an interrupt is turn/interrupt, sent once codex has named the
// turn. Process handling (spawn, interrupt grace, a dying process) is ProcessAgent's.
#pragma once

#include <boost/json/fwd.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "common/agent_settings.h"
#include "worker/process_agent.h"

namespace codeswarm::worker::codex {

class CodexAgent : public ProcessAgent {
 public:
  // How long the handshake may take, and how long codex gets to end an interrupted turn.
  // Its stderr goes to codex.stderr.log in the node's directory.
  static constexpr std::chrono::seconds kHandshakeTimeout{60};
  static constexpr std::chrono::seconds kInterruptGrace{10};

  // REQUIRES: `clock` outlives the agent.
  explicit CodexAgent(CodexAgentSettings settings, const Clock& clock = SystemClock::Get());

 private:
  class CodexTurn;

  SpawnOptions MakeSpawnOptions(const AgentContext& context,
                                const std::string& stderr_path) const override;
  Status Handshake(const AgentContext& context, SteadyTime deadline) override;
  std::unique_ptr<Turn> NewTurn(const TurnRequest& turn, TurnSink& sink) override;

  // Sends a request and waits for its result (answering server requests meanwhile).
  Result<boost::json::value> Call(std::string_view method, const boost::json::object& params,
                                  SteadyTime deadline);

  const CodexAgentSettings settings_;
  std::string thread_id_;
  int64_t next_id_ = 0;
  TokenUsage thread_usage_;  // codex's running total for the thread
};

}  // namespace codeswarm::worker::codex
