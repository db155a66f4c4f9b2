// Runs a node's turns one at a time, in order, on a thread of its own, through an Agent. It
// wraps each turn in turn_started / exactly one turn_complete, ends a turn its owner times out as
// failed, and at shutdown ends every turn it still holds. Results leave through the Emit callback.
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
#include "worker/turns.h"

namespace codeswarm::worker {

class TurnRunner : public Turns {
 public:
  // Called on the runner thread with one runtime event (name and JSON data object).
  using Emit = TurnEmit;

  // Builds the agent (on the runner thread); tests pass their own.
  using AgentMaker = std::function<Result<std::unique_ptr<Agent>>(const AgentSettings&)>;

  TurnRunner(AgentSettings settings, AgentContext context, Emit emit,
             AgentMaker make_agent = DefaultAgentMaker());
  static AgentMaker DefaultAgentMaker();
  ~TurnRunner() override;
  TurnRunner(const TurnRunner&) = delete;
  TurnRunner& operator=(const TurnRunner&) = delete;

  // Creates and starts the agent on the runner thread, then serves turns.
  void Start();
  void Enqueue(TurnRequest turn) override;
  // Ends turn `injection_id` as interrupted: the running one is asked to stop, a queued one is
  // dropped from the queue. Unknown or finished ids are ignored.
  void Interrupt(const std::string& injection_id) override;
  // Asks the running turn `injection_id` to stop and ends it as failed ("turn timed out after
  // <agent.turn_timeout_seconds> s"). The owner keeps the time (WorkerCore). Other ids: ignored.
  void TimeOut(const std::string& injection_id) override;
  // Answers the approval request the running turn waits on, if it is `approval_id`.
  void DecideApproval(const std::string& approval_id, const std::string& decision,
                      const std::string& decided_by) override;
  // Stops taking turns: stops the running turn and ends it and every queued one with `ending`
  // (kInterrupted: a planned stop such as terminate or walltime; kFailed: the worker was killed
  // from outside) and `reason`; stops the agent and joins the thread. Idempotent.
  void Shutdown(const std::string& reason,
                TurnOutcome::Status ending = TurnOutcome::Status::kInterrupted) override;

 private:
  void Loop();
  void RunOne(Agent* agent, const Status& start_status, const TurnRequest& turn);
  // Runs beside RunTurn on a thread of its own: passes stop requests (Interrupt, TimeOut,
  // Shutdown) to the agent until the turn ends.
  void SuperviseTurn(Agent* agent);
  static constexpr std::chrono::milliseconds kInterruptRepeat{100};
  // Approval "ask" (on the runner thread, inside RunTurn): reports approval_request, waits for
  // DecideApproval or the end of the turn (interrupt, time limit, shutdown), reports the
  // approval and returns the decision.
  std::string AskPerson(const std::string& injection_id, std::string_view kind,
                        std::string_view subject);
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
  std::string asking_;                   // guarded by mu_: the approval id AskPerson waits on
  std::string answer_;                   // guarded by mu_: its decision, once given
  std::string answered_by_;              // guarded by mu_: "person" or "timeout"
  std::condition_variable turn_cv_;      // wakes the running turn's supervisor (and AskPerson)
};

// The production TurnsMaker: validates the agent settings a welcome carries and starts a
// TurnRunner with the agent they select.
Result<TurnsMade> MakeTurnRunner(std::string_view agent_json, const AgentContext& context,
                                 TurnEmit emit);

}  // namespace codeswarm::worker
