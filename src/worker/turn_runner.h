// Runs a node's turns one at a time, in order, on a thread of its own, through an Agent. It
// wraps each turn in turn_started / exactly one turn_complete, enforces the turn timeout, and at
// shutdown ends every turn it still holds. Results leave through the Emit callback.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "worker/agent.h"
#include "worker/agent_settings.h"

namespace codeswarm::worker {

class TurnRunner {
 public:
  // Called on the runner thread with one runtime event (name and JSON data object).
  using Emit = std::function<void(const std::string& injection_id, const std::string& event,
                                  std::string data_json)>;

  // Builds the agent (on the runner thread); tests pass their own.
  using AgentMaker = std::function<Result<std::unique_ptr<Agent>>(const AgentSettings&)>;

  TurnRunner(AgentSettings settings, AgentContext context, Emit emit,
             AgentMaker make_agent = DefaultAgentMaker());
  static AgentMaker DefaultAgentMaker();
  ~TurnRunner();
  TurnRunner(const TurnRunner&) = delete;
  TurnRunner& operator=(const TurnRunner&) = delete;

  // Creates and starts the agent on the runner thread, then serves turns.
  void Start();
  void Enqueue(TurnRequest turn);
  // Ends turn `injection_id` as interrupted: the running one is asked to stop, a queued one is
  // dropped from the queue. Unknown or finished ids are ignored.
  void Interrupt(const std::string& injection_id);
  // Stops taking turns: stops the running turn and ends it and every queued one with `ending`
  // (kInterrupted: a planned stop such as terminate or walltime; kFailed: the worker was killed
  // from outside) and `reason`; stops the agent and joins the thread. Idempotent.
  void Shutdown(const std::string& reason,
                TurnOutcome::Status ending = TurnOutcome::Status::kInterrupted);

 private:
  void Loop();
  void RunOne(Agent* agent, const Status& start_status, const TurnRequest& turn);
  // Runs beside RunTurn on a thread of its own: enforces the turn timeout and passes interrupt
  // requests (Interrupt, Shutdown) to the agent until the turn ends.
  void SuperviseTurn(Agent* agent);
  static constexpr std::chrono::milliseconds kInterruptRepeat{100};
  void EmitComplete(const std::string& injection_id, std::string_view status,
                    const std::string& error);

  const AgentSettings settings_;
  const AgentContext context_;
  const Emit emit_;
  const AgentMaker make_agent_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<TurnRequest> queue_;        // guarded by mu_
  bool stopping_ = false;                // guarded by mu_
  std::string stop_reason_;              // guarded by mu_
  TurnOutcome::Status stop_status_ = TurnOutcome::Status::kInterrupted;  // guarded by mu_
  std::string running_;                  // guarded by mu_: injection id of the running turn
  Agent* agent_ = nullptr;               // guarded by mu_ (for Interrupt)
  bool timed_out_ = false;               // guarded by mu_
  bool interrupt_requested_ = false;     // guarded by mu_: by Interrupt(), for the running turn
  bool turn_done_ = false;               // guarded by mu_: RunTurn of the running turn returned
  std::condition_variable turn_cv_;      // wakes the running turn's supervisor
};

}  // namespace codeswarm::worker
