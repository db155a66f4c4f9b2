#include "worker/claude/claude_agent.h"

#include <boost/json.hpp>

#include <functional>

#include "worker/claude/claude_command.h"
#include "worker/claude/claude_protocol.h"
#include "worker/claude/claude_turn_mapper.h"
#include "worker/process_agent.h"

namespace codeswarm::worker::claude {
namespace json = boost::json;

namespace {

// What the turns of one claude process share.
struct ClaudeSession {
  const ClaudeAgentSettings settings;
  int64_t requests = 0;

  // Control requests are numbered "codeswarm-<what>-<n>".
  std::string NextRequestId(std::string_view what) {
    return "codeswarm-" + std::string(what) + "-" + std::to_string(++requests);
  }
};

// One claude turn: the user message, then claude's stream until its `result`.
class ClaudeTurn : public ProcessAgent::Turn {
 public:
  ClaudeTurn(ClaudeSession& session, AgentChannel& channel, const TurnRequest& request,
             TurnSink& sink)
      : session_(session),
        channel_(channel),
        prompt_(request.prompt),
        mapper_(sink, session.settings.approval_decision) {}

  Status Begin() override { return channel_.Send(UserMessageLine(prompt_)); }

  Status SendInterrupt() override {
    mapper_.SetInterruptRequested();
    return channel_.Send(ControlRequestLine(session_.NextRequestId("interrupt"), "interrupt"));
  }

  std::optional<TurnOutcome> OnMessage(const json::object& message) override {
    if (std::optional<std::string> answer = mapper_.OnMessage(message)) {
      if (!channel_.Send(*answer).ok()) return channel_.ProcessGone();
    }
    if (mapper_.finished()) return mapper_.outcome();
    return std::nullopt;
  }

 private:
  ClaudeSession& session_;
  AgentChannel& channel_;
  const std::string prompt_;
  ClaudeTurnMapper mapper_;
};

// Claude Code's stream-json mode: the `initialize` control request, then a ClaudeTurn each.
class StreamJsonProtocol : public ProcessAgent::Protocol {
 public:
  explicit StreamJsonProtocol(ClaudeAgentSettings settings) : session_{std::move(settings), 0} {}

  Status Handshake(AgentChannel& channel, const AgentContext&, SteadyTime deadline) override {
    std::string id = session_.NextRequestId("initialize");
    if (!channel.Send(ControlRequestLine(id, "initialize")).ok()) {
      return Status::Unavailable(channel.ProcessGone().error);
    }
    auto on_message = [&](const json::object& message) -> std::optional<Status> {
      if (StringAt(message, "type") != "control_response") return std::nullopt;
      const json::object& response = ObjectAt(message, "response");
      if (StringAt(response, "request_id") != id) return std::nullopt;
      if (StringAt(response, "subtype") == "success") return Status::Ok();
      return Status::Unavailable("claude refused to start: " +
                                 std::string(StringAt(response, "error")));
    };
    return channel.Await("its initialize request", deadline, on_message);
  }

  std::unique_ptr<ProcessAgent::Turn> NewTurn(AgentChannel& channel, const TurnRequest& turn,
                                              TurnSink& sink) override {
    return std::make_unique<ClaudeTurn>(session_, channel, turn, sink);
  }

 private:
  ClaudeSession session_;
};

}  // namespace

std::unique_ptr<Agent> MakeClaudeAgent(ClaudeAgentSettings settings, const Clock& clock) {
  using namespace std::chrono_literals;
  // 60 s to start and answer `initialize`, 10 s to end an interrupted turn, 3 s for each step of
  // stopping.
  return std::make_unique<ProcessAgent>(
      ProcessAgent::Options{"claude", std::bind_front(ClaudeSpawnOptions, settings), 60s, 10s, 3s},
      std::make_unique<StreamJsonProtocol>(settings), clock);  // both copy: either goes first
}

}  // namespace codeswarm::worker::claude
