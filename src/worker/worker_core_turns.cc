// WorkerCore: the turns — starting the agent, taking injections, and carrying the events the
// turns emit into the outbox and to the router.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "protocol/worker_protocol.h"
#include "worker/worker_core.h"

namespace codeswarm::worker {
namespace json = boost::json;

bool WorkerCore::MakeTurns(std::string_view agent_json, std::string_view system_prompt) {
  AgentContext context;
  context.swarm_id = options_.identity.swarm_id;
  context.node_id = options_.identity.node_id;
  context.system_prompt = std::string(system_prompt);
  context.work_dir = options_.work_dir;
  // Called on the agent thread. Wakes the loop only when the queue was empty: while an agent
  // streams, the loop takes many events per wakeup instead of one.
  TurnEmit emit = [this](const std::string& injection_id, const std::string& event,
                         std::string data) {
    bool wake;
    {
      std::lock_guard lock(agent_events_mu_);
      wake = agent_events_.empty();
      agent_events_.push_back(AgentEvent{injection_id, event, std::move(data)});
    }
    if (wake) executor_.Post([this] { TakeAgentEvents(); });
  };
  Result<TurnsMade> made = make_turns_(agent_json, context, std::move(emit));
  if (!made.ok()) {
    spdlog::error("cannot use the agent settings the router sent: {}", made.status().message());
    return false;
  }
  turns_ = std::move(made->turns);
  turn_timeout_ = made->turn_timeout;
  approval_timeout_ = made->approval_timeout;
  spdlog::info("swarm {} node {}: agent {} ready to start", options_.identity.swarm_id,
               options_.identity.node_id, made->agent_kind);
  return true;
}

void WorkerCore::HandleInject(std::string_view body) {
  Result<protocol::Inject> inject = protocol::ParseInject(body);
  if (!inject.ok()) {
    spdlog::error("ignoring bad inject from router: {}", inject.status().message());
    return;
  }
  // Acknowledge every time (the router resends until it hears this), run only once.
  Send(protocol::FormatMessage("received", json::object{{"injection_id", inject->injection_id}}));
  if (!seen_.insert(inject->injection_id).second) return;
  spdlog::debug("received injection {} ({} bytes)", inject->injection_id, inject->content.size());
  held_.push_back(inject->injection_id);
  turns_->Enqueue(TurnRequest{inject->injection_id, std::move(inject->content), ++turn_count_});
}

void WorkerCore::HandleAck(std::string_view body) {
  Result<uint64_t> seq = protocol::ParseSeqField(body, "seq");
  if (!seq.ok()) {
    spdlog::warn("ignoring bad ack from router: {}", seq.status().message());
    return;
  }
  outbox_.Ack(*seq);
  if (stop_state_ == StopState::kLeaving && AllAcked()) Finish();
}

void WorkerCore::TakeAgentEvents() {
  std::vector<AgentEvent> events;
  {
    std::lock_guard lock(agent_events_mu_);
    events.swap(agent_events_);
  }
  for (const AgentEvent& e : events) OnAgentEvent(e.injection_id, e.event, e.data);
}

void WorkerCore::OnAgentEvent(const std::string& injection_id, const std::string& event,
                              const std::string& data) {
  if (event != "assistant_delta") spdlog::debug("{} {}", injection_id, event);
  if (outbox_.Add(injection_id, event, data) == 0) {
    spdlog::warn("router not taking events; dropped an assistant_delta ({} dropped so far)",
                 outbox_.dropped());
  }
  if (event == "approval_request" || event == "approval" || event == "turn_complete") {
    TrackApproval(injection_id, event, data);
  }
  if (event == "turn_started" && turn_timeout_ > Duration::zero()) {
    turn_timers_[injection_id] = executor_.RunAfter(turn_timeout_, [this, injection_id] {
      turn_timers_.erase(injection_id);
      if (turns_) turns_->TimeOut(injection_id);
    });
  } else if (event == "turn_complete") {
    std::erase(held_, injection_id);
    if (auto timer = turn_timers_.find(injection_id); timer != turn_timers_.end()) {
      executor_.Cancel(timer->second);
      turn_timers_.erase(timer);
    }
  }
  // Events arrive one handler each; flushing once after those already queued turns a burst
  // into one write instead of a write per event.
  if (!flush_posted_) {
    flush_posted_ = true;
    executor_.Post([this] {
      flush_posted_ = false;
      FlushOutbox();
    });
  }
}

void WorkerCore::TrackApproval(const std::string& injection_id, const std::string& event,
                               const std::string& data) {
  if (event == "turn_complete") {
    // The turn answers its requests before it ends; this only guards against a timer left over.
    std::erase_if(approvals_, [&](const auto& entry) {
      if (entry.second.injection_id != injection_id) return false;
      executor_.Cancel(entry.second.timer);
      return true;
    });
    return;
  }
  Result<std::string> approval_id = protocol::ParseStringField(data, "approval_id");
  if (!approval_id.ok()) return;  // an approval the policy answered: nothing waits
  if (event == "approval") {
    if (auto waiting = approvals_.find(*approval_id); waiting != approvals_.end()) {
      executor_.Cancel(waiting->second.timer);
      approvals_.erase(waiting);
    }
    return;
  }
  const TimerId timer = executor_.RunAfter(approval_timeout_, [this, id = *approval_id] {
    if (approvals_.erase(id) == 0) return;
    spdlog::info("approval request {} was not decided in time; declining it", id);
    if (turns_) turns_->DecideApproval(id, "decline", "timeout");
  });
  json::error_code ec;
  json::value request = json::parse(data, ec);
  WaitingApproval waiting{injection_id, "", "", timer};
  if (!ec && request.is_object()) {
    const json::object& fields = request.get_object();
    if (const json::value* v = fields.if_contains("kind"); v && v->is_string()) {
      waiting.kind = std::string(v->get_string());
    }
    if (const json::value* v = fields.if_contains("subject"); v && v->is_string()) {
      waiting.subject = std::string(v->get_string());
    }
  }
  approvals_[*approval_id] = std::move(waiting);
}

void WorkerCore::HandleApprovalDecide(std::string_view body) {
  Result<protocol::ApprovalDecision> decision = protocol::ParseApprovalDecision(body);
  if (!decision.ok()) {
    spdlog::warn("ignoring bad approval_decide from router: {}", decision.status().message());
    return;
  }
  if (!approvals_.contains(decision->approval_id)) {
    // Already answered (its time ran out, or its turn ended) as the decision travelled.
    spdlog::info("approval {} is no longer waiting; the decision arrived too late",
                 decision->approval_id);
    return;
  }
  if (turns_) turns_->DecideApproval(decision->approval_id, decision->decision, "person");
}

std::map<std::string, std::string> WorkerCore::pending_approvals() const {
  std::map<std::string, std::string> out;
  for (const auto& [id, waiting] : approvals_) out[id] = waiting.injection_id;
  return out;
}

void WorkerCore::FlushOutbox() {
  if (link_state_ != LinkState::kWelcomed) return;
  std::string batch;
  while (const std::string* line = outbox_.NextUnsent()) {
    batch += *line;
    outbox_.MarkSent();
  }
  if (!batch.empty()) Send(std::move(batch));
}

}  // namespace codeswarm::worker
