#include "worker/turn_runner.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>

#include "common/ids.h"
#include "worker/agent_settings.h"
#include "worker/agent_factory.h"

namespace codeswarm::worker {
namespace json = boost::json;

namespace {

// Turns agent callbacks into runtime events of one turn.
class EventSink : public TurnSink {
 public:
  using Ask = std::function<std::string(std::string_view kind, std::string_view subject)>;
  EventSink(const TurnRunner::Emit& emit, const std::string& injection_id, Ask ask)
      : emit_(emit), injection_id_(injection_id), ask_(std::move(ask)) {}

  void Delta(std::string_view text) override {
    if (text.empty()) return;
    emit_(injection_id_, "assistant_delta", json::serialize(json::object{{"delta", text}}));
  }
  void Message(std::string_view text) override {
    emit_(injection_id_, "assistant", json::serialize(json::object{{"content", text}}));
  }
  void Usage(const TokenUsage& u) override {
    emit_(injection_id_, "usage",
          json::serialize(json::object{{"input_tokens", u.input_tokens},
                                       {"cached_input_tokens", u.cached_input_tokens},
                                       {"output_tokens", u.output_tokens},
                                       {"reasoning_output_tokens", u.reasoning_output_tokens},
                                       {"total_tokens", u.total_tokens}}));
  }

  std::string Approval(std::string_view kind, std::string_view subject,
                       std::string_view policy) override {
    if (policy == "ask") return ask_(kind, subject);
    const std::string decision = policy == "accept" ? "accept" : "decline";
    emit_(injection_id_, "approval",
          json::serialize(json::object{{"kind", kind},
                                       {"subject", subject},
                                       {"decision", decision},
                                       {"decided_by", "policy"}}));
    return decision;
  }

 private:
  const TurnRunner::Emit& emit_;
  const std::string& injection_id_;
  const Ask ask_;
};

}  // namespace

TurnRunner::TurnRunner(AgentSettings settings, AgentContext context, Emit emit,
                       AgentMaker make_agent)
    : settings_(std::move(settings)),
      context_(std::move(context)),
      emit_(std::move(emit)),
      make_agent_(std::move(make_agent)) {}

TurnRunner::AgentMaker TurnRunner::DefaultAgentMaker() {
  return [](const AgentSettings& settings) { return MakeAgent(settings); };
}

TurnRunner::~TurnRunner() { Shutdown("worker stopping"); }

void TurnRunner::Start() { thread_ = std::thread([this] { Loop(); }); }

void TurnRunner::Enqueue(TurnRequest turn) {
  std::string reason;
  TurnOutcome::Status ending;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(turn));
      cv_.notify_all();
      return;
    }
    reason = stop_reason_;
    ending = stop_status_;
  }
  // Shutdown already ended the queue; a late arrival ends the same way.
  EmitComplete(turn.injection_id, TurnStatusName(ending), reason);
}

void TurnRunner::Interrupt(const std::string& injection_id) {
  {
    std::lock_guard lock(mu_);
    if (agent_ != nullptr && !running_.empty() && injection_id == running_) {
      interrupt_requested_ = true;
      turn_cv_.notify_all();  // the turn's supervisor tells the agent
      return;
    }
    auto queued = std::find_if(queue_.begin(), queue_.end(), [&](const TurnRequest& t) {
      return t.injection_id == injection_id;
    });
    if (queued == queue_.end()) return;
    queue_.erase(queued);
  }
  EmitComplete(injection_id, "interrupted", "interrupted by request before it started");
}

void TurnRunner::TimeOut(const std::string& injection_id) {
  std::lock_guard lock(mu_);
  if (agent_ == nullptr || running_.empty() || injection_id != running_) return;
  timed_out_ = true;
  turn_cv_.notify_all();
}

void TurnRunner::DecideApproval(const std::string& approval_id, const std::string& decision,
                                const std::string& decided_by) {
  std::lock_guard lock(mu_);
  if (asking_.empty() || approval_id != asking_ || !answer_.empty()) return;
  answer_ = decision == "accept" ? "accept" : "decline";
  answered_by_ = decided_by;
  turn_cv_.notify_all();
}

std::string TurnRunner::AskPerson(const std::string& injection_id, std::string_view kind,
                                  std::string_view subject) {
  const std::string approval_id = "a-" + RandomHex(6);
  {
    // Waiting before the request leaves, so that no answer can come too early.
    std::lock_guard lock(mu_);
    asking_ = approval_id;
    answer_.clear();
    answered_by_.clear();
  }
  emit_(injection_id, "approval_request",
        json::serialize(json::object{{"approval_id", approval_id},
                                     {"kind", kind},
                                     {"subject", subject},
                                     {"timeout_seconds", settings_.approval_timeout_seconds}}));
  json::object approval{{"approval_id", approval_id}, {"kind", kind}, {"subject", subject}};
  {
    std::unique_lock lock(mu_);
    turn_cv_.wait(lock, [&] {
      return !answer_.empty() || interrupt_requested_ || stopping_ || timed_out_;
    });
    if (!answer_.empty()) {
      approval["decision"] = answer_;
      approval["decided_by"] = answered_by_;
      if (answered_by_ == "timeout") {
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%g", settings_.approval_timeout_seconds);
        approval["reason"] = "no one decided within " + std::string(seconds) + " s";
      }
    } else {
      // The turn is ending: the request goes with it, declined, so the agent is never left
      // holding a question.
      approval["decision"] = "decline";
      approval["decided_by"] = "turn_ended";
      approval["reason"] = stopping_     ? stop_reason_
                           : timed_out_ ? std::string("the turn ran out of time")
                                        : std::string("the turn was interrupted");
    }
    asking_.clear();
    answer_.clear();
  }
  std::string decision(approval.at("decision").as_string());
  emit_(injection_id, "approval", json::serialize(approval));
  return decision;
}

void TurnRunner::Shutdown(const std::string& reason, TurnOutcome::Status ending) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_reason_ = reason;
      stop_status_ = ending;
      cv_.notify_all();
      turn_cv_.notify_all();
    }
  }
  if (thread_.joinable()) thread_.join();
}

void TurnRunner::EmitComplete(const std::string& injection_id, std::string_view status,
                              const std::string& error) {
  json::object data{{"status", status}};
  data["error"] = error.empty() ? json::value(nullptr) : json::value(error);
  emit_(injection_id, "turn_complete", json::serialize(data));
}

void TurnRunner::Loop() {
  std::unique_ptr<Agent> agent;
  Status start_status = Status::Ok();
  Result<std::unique_ptr<Agent>> made = make_agent_(settings_);
  if (made.ok()) {
    agent = std::move(*made);
    start_status = agent->Start(context_);
    if (!start_status.ok()) start_status = start_status.WithPrefix("agent failed to start");
  } else {
    start_status = made.status();
  }
  if (!start_status.ok()) spdlog::error("{}", start_status.message());
  {
    std::lock_guard lock(mu_);
    agent_ = start_status.ok() ? agent.get() : nullptr;
  }
  while (true) {
    TurnRequest turn;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      turn = std::move(queue_.front());
      queue_.pop_front();
      running_ = turn.injection_id;
      timed_out_ = false;
      interrupt_requested_ = false;
      turn_done_ = false;
    }
    RunOne(start_status.ok() ? agent.get() : nullptr, start_status, turn);
    std::lock_guard lock(mu_);
    running_.clear();
  }
  std::deque<TurnRequest> left;
  std::string reason;
  TurnOutcome::Status ending;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
    reason = stop_reason_;
    ending = stop_status_;
    agent_ = nullptr;
  }
  for (const TurnRequest& turn : left) {
    EmitComplete(turn.injection_id, TurnStatusName(ending), reason);
  }
  if (agent) agent->Stop();
}

void TurnRunner::SuperviseTurn(Agent* agent) {
  std::unique_lock lock(mu_);
  while (!turn_done_) {
    if (interrupt_requested_ || stopping_ || timed_out_) {
      // Asked again until the turn ends: an agent clears its interrupt flag when a turn begins,
      // so a request that lands just as RunTurn starts would otherwise be lost.
      agent->Interrupt();
      turn_cv_.wait_for(lock, kInterruptRepeat);
    } else {
      turn_cv_.wait(lock);
    }
  }
}

void TurnRunner::RunOne(Agent* agent, const Status& start_status, const TurnRequest& turn) {
  if (agent == nullptr) {
    EmitComplete(turn.injection_id, "failed", start_status.message());
    return;
  }
  emit_(turn.injection_id, "turn_started", "{}");
  std::thread supervisor([this, agent] { SuperviseTurn(agent); });
  EventSink sink(emit_, turn.injection_id,
                 [this, &turn](std::string_view kind, std::string_view subject) {
                   return AskPerson(turn.injection_id, kind, subject);
                 });
  TurnOutcome outcome = agent->RunTurn(turn, sink);
  {
    std::lock_guard lock(mu_);
    turn_done_ = true;
  }
  turn_cv_.notify_all();
  supervisor.join();
  bool timed_out;
  bool requested;
  std::string stop_reason;
  TurnOutcome::Status stop_status;
  {
    std::lock_guard lock(mu_);
    timed_out = timed_out_;
    requested = interrupt_requested_;
    stop_reason = stopping_ ? stop_reason_ : "";
    stop_status = stop_status_;
  }
  if (timed_out && outcome.status != TurnOutcome::Status::kCompleted) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", settings_.turn_timeout_seconds);
    outcome = TurnOutcome::Failed("turn timed out after " + std::string(seconds) + " s");
  } else if (outcome.status == TurnOutcome::Status::kInterrupted) {
    if (!stop_reason.empty()) {
      outcome = TurnOutcome{stop_status, stop_reason};
    } else if (requested) {
      outcome.error = "interrupted by request";
    }
  }
  EmitComplete(turn.injection_id, TurnStatusName(outcome.status), outcome.error);
}

Result<TurnsMade> MakeTurnRunner(std::string_view agent_json, const AgentContext& context,
                                 TurnEmit emit) {
  json::error_code ec;
  json::value agent = json::parse(agent_json, ec);
  if (ec || !agent.is_object()) return Status::InvalidArgument("agent: not a JSON object");
  Result<AgentSettings> settings = ParseAgentSettings(agent.as_object(), "agent");
  if (!settings.ok()) return settings.status();
  TurnsMade made;
  made.agent_kind = settings->kind;
  made.turn_timeout = FromSeconds(settings->turn_timeout_seconds);
  made.approval_timeout = FromSeconds(settings->approval_timeout_seconds);
  auto runner = std::make_unique<TurnRunner>(*settings, context, std::move(emit));
  runner->Start();
  made.turns = std::move(runner);
  return made;
}

}  // namespace codeswarm::worker
