#include "worker/claude/claude_agent.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "worker/claude/claude_command.h"
#include "worker/claude/claude_protocol.h"
#include "worker/claude/claude_turn_mapper.h"

namespace codeswarm::worker::claude {
namespace json = boost::json;

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kStopGrace{3000};

// One stdout line as a JSON object; nullopt (logged) for anything else.
std::optional<json::object> ParseLine(const std::string& line) {
  boost::system::error_code ec;
  json::value value = json::parse(line, ec);
  if (ec || !value.is_object()) {
    spdlog::debug("claude wrote a line that is not a JSON object: {}", line.substr(0, 200));
    return std::nullopt;
  }
  return std::move(value.get_object());
}

}  // namespace

ClaudeAgent::ClaudeAgent(ClaudeAgentSettings settings, milliseconds interrupt_grace)
    : settings_(std::move(settings)), interrupt_grace_(interrupt_grace) {}

ClaudeAgent::~ClaudeAgent() = default;

std::string ClaudeAgent::NextRequestId(std::string_view what) {
  return "codeswarm-" + std::string(what) + "-" + std::to_string(++next_request_);
}

Status ClaudeAgent::Start(const AgentContext& context) {
  std::string dir = context.work_dir.empty() ? "." : context.work_dir;
  Result<std::unique_ptr<AgentProcess>> started =
      AgentProcess::Start(ClaudeSpawnOptions(settings_, context, dir + "/" + kStderrFile),
                          "claude");
  if (!started.ok()) {
    std::string why = started.status().message();
    if (started.status().IsNotFound()) why += " (see agent.claude.binary)";
    gone_ = why;
    return Status::Unavailable(why);
  }
  process_ = std::move(*started);
  Status ready = Initialize();
  if (!ready.ok()) {
    gone_ = ready.message();
    process_->Stop(milliseconds(0));
  }
  return ready;
}

Status ClaudeAgent::Initialize() {
  std::string id = NextRequestId("initialize");
  if (!process_->WriteLine(ControlRequestLine(id, "initialize")).ok()) {
    return Status::Unavailable(process_->DescribeExit());
  }
  auto deadline = AgentProcess::Clock::now() + kStartTimeout;
  while (true) {
    AgentProcess::Event event = process_->Next(deadline);
    switch (event.kind) {
      case AgentProcess::Event::Kind::kWakeup:
        continue;
      case AgentProcess::Event::Kind::kExited:
        return Status::Unavailable(process_->DescribeExit());
      case AgentProcess::Event::Kind::kTimeout: {
        std::string why = "claude did not answer its initialize request within " +
                          std::to_string(kStartTimeout.count()) + " s";
        std::string tail = StderrTail(process_->stderr_path());
        if (!tail.empty()) why += "; last stderr: " + tail;
        return Status::Timeout(why);
      }
      case AgentProcess::Event::Kind::kLine:
        break;
    }
    std::optional<json::object> message = ParseLine(event.line);
    if (!message || StringAt(*message, "type") != "control_response") continue;
    const json::object& response = ObjectAt(*message, "response");
    if (StringAt(response, "request_id") != id) continue;
    if (StringAt(response, "subtype") == "success") return Status::Ok();
    return Status::Unavailable("claude refused to start: " + std::string(StringAt(response, "error")));
  }
}

TurnOutcome ClaudeAgent::ProcessGone(std::string why) {
  gone_ = std::move(why);
  process_->Stop(milliseconds(0));
  return TurnOutcome::Failed(gone_);
}

TurnOutcome ClaudeAgent::RunTurn(const TurnRequest& turn, TurnSink& sink) {
  if (!gone_.empty()) return TurnOutcome::Failed(gone_);
  interrupt_requested_ = false;
  if (!process_->WriteLine(UserMessageLine(turn.prompt)).ok()) {
    return ProcessGone(process_->DescribeExit());
  }
  ClaudeTurnMapper mapper(sink, settings_.approval_decision);
  bool interrupt_sent = false;
  std::optional<AgentProcess::Clock::time_point> deadline;
  while (true) {
    if (interrupt_requested_ && !interrupt_sent) {
      interrupt_sent = true;
      mapper.SetInterruptRequested();
      if (!process_->WriteLine(ControlRequestLine(NextRequestId("interrupt"), "interrupt")).ok()) {
        return ProcessGone(process_->DescribeExit());
      }
      deadline = AgentProcess::Clock::now() + interrupt_grace_;
    }
    AgentProcess::Event event = process_->Next(deadline);
    switch (event.kind) {
      case AgentProcess::Event::Kind::kWakeup:
        continue;
      case AgentProcess::Event::Kind::kExited:
        return ProcessGone(process_->DescribeExit());
      case AgentProcess::Event::Kind::kTimeout:
        ProcessGone("claude did not end a turn within " + std::to_string(interrupt_grace_.count()) +
                    " ms of an interrupt request and was killed");
        return TurnOutcome::Interrupted(gone_);
      case AgentProcess::Event::Kind::kLine:
        break;
    }
    std::optional<json::object> message = ParseLine(event.line);
    if (!message) continue;
    if (std::optional<std::string> answer = mapper.OnMessage(*message)) {
      if (!process_->WriteLine(*answer).ok()) return ProcessGone(process_->DescribeExit());
    }
    if (mapper.finished()) return mapper.outcome();
  }
}

void ClaudeAgent::Interrupt() {
  interrupt_requested_ = true;
  if (process_) process_->Wake();
}

void ClaudeAgent::Stop() {
  if (process_) process_->Stop(kStopGrace);
}

}  // namespace codeswarm::worker::claude
