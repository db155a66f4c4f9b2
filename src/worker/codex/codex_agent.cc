#include "worker/codex/codex_agent.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "worker/codex/codex_protocol.h"
#include "worker/codex/codex_turn_mapper.h"

namespace codeswarm::worker::codex {
namespace json = boost::json;

namespace {

// One line from codex as a JSON object, or nullopt (logged) when it is something else.
std::optional<json::object> ParseLine(const std::string& line) {
  json::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec || !v.is_object()) {
    spdlog::debug("codex: ignoring a line that is not a JSON object: {}", line.substr(0, 200));
    return std::nullopt;
  }
  return std::move(v.get_object());
}

bool SameId(const json::value& id, int64_t expected) {
  return (id.is_int64() && id.get_int64() == expected) ||
         (id.is_uint64() && id.get_uint64() == static_cast<uint64_t>(expected));
}

}  // namespace

CodexAgent::CodexAgent(CodexAgentSettings settings) : settings_(std::move(settings)) {}

CodexAgent::~CodexAgent() { Stop(); }

Status CodexAgent::Send(const std::string& line) {
  Status sent = process_->WriteLine(line);
  if (!sent.ok() && gone_.empty()) gone_ = process_->DescribeExit();
  return sent;
}

TurnOutcome CodexAgent::ProcessGone() {
  if (gone_.empty()) gone_ = process_->DescribeExit();
  return TurnOutcome::Failed(gone_);
}

Status CodexAgent::Start(const AgentContext& context) {
  std::string stderr_path = context.work_dir + "/" + kStderrFile;
  Result<std::unique_ptr<AgentProcess>> started =
      AgentProcess::Start(AppServerSpawnOptions(settings_, context, stderr_path), "codex");
  if (!started.ok()) {
    if (!started.status().IsNotFound()) return started.status();
    return Status::NotFound(started.status().message() + " (see agent.codex.binary)");
  }
  process_ = std::move(*started);
  auto deadline = AgentProcess::Clock::now() + kHandshakeTimeout;
  Result<json::value> initialized = Call("initialize", InitializeParams(), deadline);
  if (!initialized.ok()) return initialized.status();
  if (!Send(NotificationLine("initialized")).ok()) return Status::Unavailable(gone_);
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
                                     AgentProcess::Clock::time_point deadline) {
  const int64_t id = next_id_++;
  if (!Send(RequestLine(id, method, params)).ok()) return Status::Unavailable(gone_);
  while (true) {
    AgentProcess::Event event = process_->Next(deadline);
    switch (event.kind) {
      case AgentProcess::Event::Kind::kWakeup:
        continue;
      case AgentProcess::Event::Kind::kExited:
        if (gone_.empty()) gone_ = process_->DescribeExit();
        return Status::Unavailable(gone_ + " (while waiting for the answer to " +
                                   std::string(method) + ")");
      case AgentProcess::Event::Kind::kTimeout:
        process_->Kill();
        gone_ = "codex did not answer " + std::string(method) + " in time; it was killed";
        return Status::Timeout(gone_);
      case AgentProcess::Event::Kind::kLine:
        break;
    }
    std::optional<json::object> message = ParseLine(event.line);
    if (!message) continue;
    IncomingMessage m = ClassifyMessage(*message);
    if (m.kind == IncomingMessage::Kind::kServerRequest) {
      // No turn runs: nothing to approve.
      Send(ErrorLine(m.id, -32601, "codeswarm does not handle " + m.method + " outside a turn"));
    } else if (m.kind == IncomingMessage::Kind::kResponse && SameId(m.id, id)) {
      if (!m.error.empty()) {
        return Status::FailedPrecondition("codex refused " + std::string(method) + ": " + m.error);
      }
      return m.result != nullptr ? *m.result : json::value();
    }
  }
}

TurnOutcome CodexAgent::RunTurn(const TurnRequest& turn, TurnSink& sink) {
  interrupt_requested_ = false;
  if (!gone_.empty()) return TurnOutcome::Failed(gone_);
  CodexTurnMapper mapper(sink, settings_.approval_decision, &thread_usage_);
  const int64_t start_id = next_id_++;
  if (!Send(RequestLine(start_id, "turn/start", TurnStartParams(thread_id_, turn.prompt))).ok()) {
    return ProcessGone();
  }
  bool interrupt_sent = false;
  std::optional<AgentProcess::Clock::time_point> deadline;
  static const json::object kNoParams;
  while (true) {
    if (interrupt_requested_ && !deadline) {
      deadline = AgentProcess::Clock::now() + kInterruptGrace;
    }
    if (interrupt_requested_ && !interrupt_sent && !mapper.turn_id().empty()) {
      interrupt_sent = true;
      if (!Send(RequestLine(next_id_++, "turn/interrupt",
                            TurnInterruptParams(thread_id_, mapper.turn_id())))
               .ok()) {
        return ProcessGone();
      }
    }
    AgentProcess::Event event = process_->Next(deadline);
    switch (event.kind) {
      case AgentProcess::Event::Kind::kWakeup:
        continue;
      case AgentProcess::Event::Kind::kExited:
        return ProcessGone();
      case AgentProcess::Event::Kind::kTimeout:
        process_->Kill();
        gone_ = "codex did not end the interrupted turn within " +
                std::to_string(kInterruptGrace.count()) + " s; it was killed";
        return TurnOutcome::Interrupted(gone_);
      case AgentProcess::Event::Kind::kLine:
        break;
    }
    std::optional<json::object> message = ParseLine(event.line);
    if (!message) continue;
    IncomingMessage m = ClassifyMessage(*message);
    const json::object& params = m.params != nullptr ? *m.params : kNoParams;
    switch (m.kind) {
      case IncomingMessage::Kind::kNotification:
        mapper.OnNotification(m.method, params);
        if (mapper.finished()) return mapper.outcome();
        break;
      case IncomingMessage::Kind::kServerRequest: {
        ServerRequestAnswer answer = mapper.OnServerRequest(m.method, params);
        std::string line = answer.error_message.empty()
                               ? ResultLine(m.id, answer.result)
                               : ErrorLine(m.id, answer.error_code, answer.error_message);
        if (!Send(line).ok()) return ProcessGone();
        break;
      }
      case IncomingMessage::Kind::kResponse:
        if (SameId(m.id, start_id)) {
          if (!m.error.empty()) return TurnOutcome::Failed("codex refused the turn: " + m.error);
          if (m.result != nullptr && m.result->is_object()) {
            mapper.SetTurnId(StringAt(ObjectAt(m.result->get_object(), "turn"), "id"));
          }
        } else if (!m.error.empty()) {
          spdlog::warn("codex: request {} failed: {}", json::serialize(m.id), m.error);
        }
        break;
      case IncomingMessage::Kind::kInvalid:
        break;
    }
  }
}

void CodexAgent::Interrupt() {
  interrupt_requested_ = true;
  if (process_) process_->Wake();
}

void CodexAgent::Stop() {
  if (process_) process_->Stop(std::chrono::seconds(2));
}

}  // namespace codeswarm::worker::codex
