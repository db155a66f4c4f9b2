// The node's turns as the worker core drives them (TurnRunner in production, a fake in tests),
// and how they are made from the agent settings a welcome brings.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "worker/agent.h"

namespace codeswarm::worker {

// Runtime events come back through the emit callback the maker was given.
class Turns {
 public:
  virtual ~Turns() = default;
  virtual void Enqueue(TurnRequest turn) = 0;
  // Ends the turn `injection_id` as interrupted (the running one is asked to stop, a queued one
  // is dropped). Unknown or finished ids are ignored.
  virtual void Interrupt(const std::string& injection_id) = 0;
  // Ends the running turn `injection_id` as failed because it ran past the turn time limit.
  virtual void TimeOut(const std::string& injection_id) = 0;
  // The answer to the approval request `approval_id` the running turn waits on (approval_decision
  // "ask"): `decision` "accept" or "decline", `decided_by` "person" or "timeout". An id that
  // is not waiting (unknown, answered, its turn ended) is ignored: exactly one answer counts.
  virtual void DecideApproval(const std::string& approval_id, const std::string& decision,
                              const std::string& decided_by) = 0;
  // Ends every turn held with `ending` and `reason` and stops the agent. Blocks until done.
  virtual void Shutdown(const std::string& reason, TurnOutcome::Status ending) = 0;
};

// Called (possibly from another thread) with one runtime event: name and JSON data object.
using TurnEmit = std::function<void(const std::string& injection_id, const std::string& event,
                                    std::string data_json)>;

// Made once, when the first welcome brings the agent settings.
struct TurnsMade {
  std::unique_ptr<Turns> turns;
  Duration turn_timeout{0};  // zero: no limit
  std::string agent_kind;
  // How long an approval request waits for a person (the owner keeps the time and then
  // answers it with DecideApproval(..., "decline", "timeout")).
  Duration approval_timeout = std::chrono::seconds(300);
};
using TurnsMaker = std::function<Result<TurnsMade>(std::string_view agent_json,
                                                   const AgentContext& context, TurnEmit emit)>;

}  // namespace codeswarm::worker
