#include "worker/codex/codex_agent.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "worker/codex/codex_protocol.h"
#include "worker/codex/codex_turn_mapper.h"

namespace codeswarm::worker::codex {
namespace json = boost::json;

namespace {

bool SameId(const json::value& id, int64_t expected) {
  return (id.is_int64() && id.get_int64() == expected) ||
         (id.is_uint64() && id.get_uint64() == static_cast<uint64_t>(expected));
}

}  // namespace

// One codex turn: turn/start, then codex's notifications and approval requests until
// turn/completed.
class CodexAgent::CodexTurn : public Turn {
 public:
  CodexTurn(CodexAgent& agent, const TurnRequest& request, TurnSink& sink)
      : agent_(agent),
        prompt_(request.prompt),
        mapper_(sink, agent.settings_.approval_decision, &agent.thread_usage_) {}

  Status Begin() override {
    return agent_.Send(RequestLine(start_id_, "turn/start", TurnStartParams(agent_.thread_id_, prompt_)));
  }

  bool CanInterrupt() const override { return !mapper_.turn_id().empty(); }

  Status SendInterrupt() override {
    return agent_.Send(RequestLine(agent_.next_id_++, "turn/interrupt",
                                   TurnInterruptParams(agent_.thread_id_, mapper_.turn_id())));
  }

  std::optional<TurnOutcome> OnMessage(const json::object& message) override {
    static const json::object kNoParams;
    IncomingMessage m = ClassifyMessage(message);
    const json::object& params = m.params != nullptr ? *m.params : kNoParams;
    switch (m.kind) {
      case IncomingMessage::Kind::kNotification:
        mapper_.OnNotification(m.method, params);
        if (mapper_.finished()) return mapper_.outcome();
        break;
      case IncomingMessage::Kind::kServerRequest: {
        ServerRequestAnswer answer = mapper_.OnServerRequest(m.method, params);
        std::string line = answer.error_message.empty()
                               ? ResultLine(m.id, answer.result)
                               : ErrorLine(m.id, answer.error_code, answer.error_message);
        if (!agent_.Send(line).ok()) return agent_.ProcessGone();
        break;
      }
      case IncomingMessage::Kind::kResponse:
        if (SameId(m.id, start_id_)) {
          if (!m.error.empty()) return TurnOutcome::Failed("codex refused the turn: " + m.error);
          if (m.result != nullptr && m.result->is_object()) {
            mapper_.SetTurnId(StringAt(ObjectAt(m.result->get_object(), "turn"), "id"));
          }
        } else if (!m.error.empty()) {
          spdlog::warn("codex: request {} failed: {}", json::serialize(m.id), m.error);
        }
        break;
      case IncomingMessage::Kind::kInvalid:
        break;
    }
    return std::nullopt;
  }

 private:
  CodexAgent& agent_;
  const std::string prompt_;
  const int64_t start_id_ = agent_.next_id_++;
  CodexTurnMapper mapper_;
};

CodexAgent::CodexAgent(CodexAgentSettings settings, const Clock& clock)
    : ProcessAgent({"codex", kHandshakeTimeout, kInterruptGrace, std::chrono::seconds(2)}, clock),
      settings_(std::move(settings)) {}

SpawnOptions CodexAgent::MakeSpawnOptions(const AgentContext& context,
                                          const std::string& stderr_path) const {
  return AppServerSpawnOptions(settings_, context, stderr_path);
}

Status CodexAgent::Handshake(const AgentContext& context, SteadyTime deadline) {
  Result<json::value> initialized = Call("initialize", InitializeParams(), deadline);
  if (!initialized.ok()) return initialized.status();
  if (!Send(NotificationLine("initialized")).ok()) return Status::Unavailable(ProcessGone().error);
  Result<json::value> thread = Call("thread/start", ThreadStartParams(settings_, context), deadline);
  if (!thread.ok()) return thread.status();
  if (thread->is_object()) {
    thread_id_ = std::string(StringAt(ObjectAt(thread->get_object(), "thread"), "id"));
  }
  if (thread_id_.empty()) {
    return Status::Internal("codex answered thread/start without a thread id: " +
                            json::serialize(*thread).substr(0, 300));
  }
  spdlog::info("codex thread {} started in {}", thread_id_, context.work_dir);
  return Status::Ok();
}

Result<json::value> CodexAgent::Call(std::string_view method, const json::object& params,
                                     SteadyTime deadline) {
  const int64_t id = next_id_++;
  if (!Send(RequestLine(id, method, params)).ok()) return Status::Unavailable(ProcessGone().error);
  json::value result;
  Status answered = Await(method, deadline, [&](const json::object& message) -> std::optional<Status> {
    IncomingMessage m = ClassifyMessage(message);
    if (m.kind == IncomingMessage::Kind::kServerRequest) {
      // No turn runs: nothing to approve.
      Send(ErrorLine(m.id, -32601, "codeswarm does not handle " + m.method + " outside a turn"));
    } else if (m.kind == IncomingMessage::Kind::kResponse && SameId(m.id, id)) {
      if (!m.error.empty()) {
        return Status::FailedPrecondition("codex refused " + std::string(method) + ": " + m.error);
      }
      if (m.result != nullptr) result = *m.result;
      return Status::Ok();
    }
    return std::nullopt;
  });
  if (!answered.ok()) return answered;
  return result;
}

std::unique_ptr<ProcessAgent::Turn> CodexAgent::NewTurn(const TurnRequest& turn, TurnSink& sink) {
  return std::make_unique<CodexTurn>(*this, turn, sink);
}

}  // namespace codeswarm::worker::codex
