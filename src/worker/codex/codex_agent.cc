#include "worker/codex/codex_agent.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <functional>

#include "worker/codex/codex_protocol.h"
#include "worker/codex/codex_turn_mapper.h"
#include "worker/process_agent.h"

namespace codeswarm::worker::codex {
namespace json = boost::json;

namespace {

bool SameId(const json::value& id, int64_t expected) {
  return (id.is_int64() && id.get_int64() == expected) ||
         (id.is_uint64() && id.get_uint64() == static_cast<uint64_t>(expected));
}

// The node's codex thread, which every turn continues.
struct CodexThread {
  const CodexAgentSettings settings;
  std::string id;
  int64_t next_request_id = 0;
  TokenUsage usage;  // codex's running total for the thread
};

// One codex turn: turn/start, then codex's notifications and approval requests until
// turn/completed.
class CodexTurn : public ProcessAgent::Turn {
 public:
  CodexTurn(CodexThread& thread, AgentChannel& channel, const TurnRequest& request, TurnSink& sink)
      : thread_(thread),
        channel_(channel),
        prompt_(request.prompt),
        start_id_(thread.next_request_id++),
        mapper_(sink, thread.settings.approval_decision, &thread.usage) {}

  Status Begin() override {
    return channel_.Send(
        RequestLine(start_id_, "turn/start", TurnStartParams(thread_.id, prompt_)));
  }

  bool CanInterrupt() const override { return !mapper_.turn_id().empty(); }

  Status SendInterrupt() override {
    return channel_.Send(RequestLine(thread_.next_request_id++, "turn/interrupt",
                                     TurnInterruptParams(thread_.id, mapper_.turn_id())));
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
        if (!channel_.Send(line).ok()) return channel_.ProcessGone();
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
  CodexThread& thread_;
  AgentChannel& channel_;
  const std::string prompt_;
  const int64_t start_id_;
  CodexTurnMapper mapper_;
};

// codex app-server's JSON-RPC: initialize, initialized, thread/start, then a CodexTurn each.
class AppServerProtocol : public ProcessAgent::Protocol {
 public:
  explicit AppServerProtocol(CodexAgentSettings settings)
      : thread_{std::move(settings), {}, 0, {}} {}

  Status Handshake(AgentChannel& channel, const AgentContext& context,
                   SteadyTime deadline) override {
    Result<json::value> initialized = Call(channel, "initialize", InitializeParams(), deadline);
    if (!initialized.ok()) return initialized.status();
    if (!channel.Send(NotificationLine("initialized")).ok()) {
      return Status::Unavailable(channel.ProcessGone().error);
    }
    Result<json::value> started =
        Call(channel, "thread/start", ThreadStartParams(thread_.settings, context), deadline);
    if (!started.ok()) return started.status();
    if (started->is_object()) {
      thread_.id = std::string(StringAt(ObjectAt(started->get_object(), "thread"), "id"));
    }
    if (thread_.id.empty()) {
      return Status::Internal("codex answered thread/start without a thread id: " +
                              json::serialize(*started).substr(0, 300));
    }
    spdlog::info("codex thread {} started in {}", thread_.id, context.work_dir);
    return Status::Ok();
  }

  std::unique_ptr<ProcessAgent::Turn> NewTurn(AgentChannel& channel, const TurnRequest& turn,
                                              TurnSink& sink) override {
    return std::make_unique<CodexTurn>(thread_, channel, turn, sink);
  }

 private:
  // Sends a request and waits for its result (answering server requests meanwhile).
  Result<json::value> Call(AgentChannel& channel, std::string_view method,
                           const json::object& params, SteadyTime deadline) {
    const int64_t id = thread_.next_request_id++;
    if (!channel.Send(RequestLine(id, method, params)).ok()) {
      return Status::Unavailable(channel.ProcessGone().error);
    }
    json::value result;
    auto on_message = [&](const json::object& message) -> std::optional<Status> {
      IncomingMessage m = ClassifyMessage(message);
      if (m.kind == IncomingMessage::Kind::kServerRequest) {
        // No turn runs: nothing to approve.
        channel.Send(
            ErrorLine(m.id, -32601, "codeswarm does not handle " + m.method + " outside a turn"));
      } else if (m.kind == IncomingMessage::Kind::kResponse && SameId(m.id, id)) {
        if (!m.error.empty()) {
          return Status::FailedPrecondition("codex refused " + std::string(method) + ": " +
                                            m.error);
        }
        if (m.result != nullptr) result = *m.result;
        return Status::Ok();
      }
      return std::nullopt;
    };
    Status answered = channel.Await(method, deadline, on_message);
    if (!answered.ok()) return answered;
    return result;
  }

  CodexThread thread_;
};

}  // namespace

std::unique_ptr<Agent> MakeCodexAgent(CodexAgentSettings settings, const Clock& clock) {
  using namespace std::chrono_literals;
  // 60 s for the handshake, 10 s to end an interrupted turn, 2 s for each step of stopping.
  ProcessAgent::Options options{"codex", std::bind_front(AppServerSpawnOptions, settings), 60s, 10s,
                                2s};
  auto protocol = std::make_unique<AppServerProtocol>(std::move(settings));
  return std::make_unique<ProcessAgent>(std::move(options), std::move(protocol), clock);
}

}  // namespace codeswarm::worker::codex
