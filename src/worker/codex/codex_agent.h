// The codex agent: one `codex app-server` process per node, one codex thread per node (so the
// conversation carries over from turn to turn), one codex turn per injection.
//
// Start spawns the process and completes the handshake (initialize, initialized, thread/start).
// RunTurn sends turn/start and maps what follows through CodexTurnMapper until turn/completed,
// answering approval requests on the way. Interrupt sends turn/interrupt; a codex that does not
// end the turn within kInterruptGrace is killed. When the process dies, the running turn fails
// with its exit status and last stderr lines, and so does every later turn (the node needs a new
// swarm; codex's thread is gone with it).
#pragma once

#include <boost/json/fwd.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "worker/agent.h"
#include "worker/agent_process.h"
#include "worker/agent_settings.h"

namespace codeswarm::worker::codex {

class CodexAgent : public Agent {
 public:
  // How long the handshake may take, and how long codex gets to end an interrupted turn.
  static constexpr std::chrono::seconds kHandshakeTimeout{60};
  static constexpr std::chrono::seconds kInterruptGrace{10};
  // codex's stderr goes to this file in the node's directory.
  static constexpr const char* kStderrFile = "codex.stderr.log";

  explicit CodexAgent(CodexAgentSettings settings);
  ~CodexAgent() override;

  Status Start(const AgentContext& context) override;
  TurnOutcome RunTurn(const TurnRequest& turn, TurnSink& sink) override;
  void Interrupt() override;
  void Stop() override;

 private:
  // Sends a request and waits for its response (answering server requests meanwhile).
  Result<boost::json::value> Call(std::string_view method, const boost::json::object& params,
                                  AgentProcess::Clock::time_point deadline);
  Status Send(const std::string& line);
  // The error for a turn when the process is gone (and every turn after it).
  TurnOutcome ProcessGone();

  const CodexAgentSettings settings_;
  std::unique_ptr<AgentProcess> process_;  // set by Start, read by Interrupt
  std::string thread_id_;
  int64_t next_id_ = 0;
  TokenUsage thread_usage_;  // codex's running total for the thread
  std::string gone_;         // set once the process is gone: why
  std::atomic<bool> interrupt_requested_{false};
};

}  // namespace codeswarm::worker::codex
