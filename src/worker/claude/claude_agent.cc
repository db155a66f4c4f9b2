#include "worker/claude/claude_agent.h"

#include <boost/json.hpp>

#include "worker/claude/claude_command.h"
#include "worker/claude/claude_protocol.h"
#include "worker/claude/claude_turn_mapper.h"

namespace codeswarm::worker::claude {
namespace json = boost::json;

// One claude turn: the user message, then claude's stream until its `result`.
class ClaudeAgent::ClaudeTurn : public Turn {
 public:
  ClaudeTurn(ClaudeAgent& agent, const TurnRequest& request, TurnSink& sink)
      : agent_(agent), prompt_(request.prompt), mapper_(sink, agent.settings_.approval_decision) {}

  Status Begin() override { return agent_.Send(UserMessageLine(prompt_)); }

  Status SendInterrupt() override {
    mapper_.SetInterruptRequested();
    return agent_.Send(ControlRequestLine(agent_.NextRequestId("interrupt"), "interrupt"));
  }

  std::optional<TurnOutcome> OnMessage(const json::object& message) override {
    if (std::optional<std::string> answer = mapper_.OnMessage(message)) {
      if (!agent_.Send(*answer).ok()) return agent_.ProcessGone();
    }
    if (mapper_.finished()) return mapper_.outcome();
    return std::nullopt;
  }

 private:
  ClaudeAgent& agent_;
  const std::string prompt_;
  ClaudeTurnMapper mapper_;
};

ClaudeAgent::ClaudeAgent(ClaudeAgentSettings settings, const Clock& clock)
    : ProcessAgent({"claude", kStartTimeout, kInterruptGrace, std::chrono::seconds(3)}, clock),
      settings_(std::move(settings)) {}

std::string ClaudeAgent::NextRequestId(std::string_view what) {
  return "codeswarm-" + std::string(what) + "-" + std::to_string(++next_request_);
}

SpawnOptions ClaudeAgent::MakeSpawnOptions(const AgentContext& context,
                                           const std::string& stderr_path) const {
  return ClaudeSpawnOptions(settings_, context, stderr_path);
}

Status ClaudeAgent::Handshake(const AgentContext&, SteadyTime deadline) {
  std::string id = NextRequestId("initialize");
  if (!Send(ControlRequestLine(id, "initialize")).ok()) {
    return Status::Unavailable(ProcessGone().error);
  }
  return Await("its initialize request", deadline,
               [&](const json::object& message) -> std::optional<Status> {
                 if (StringAt(message, "type") != "control_response") return std::nullopt;
                 const json::object& response = ObjectAt(message, "response");
                 if (StringAt(response, "request_id") != id) return std::nullopt;
                 if (StringAt(response, "subtype") == "success") return Status::Ok();
                 return Status::Unavailable("claude refused to start: " +
                                            std::string(StringAt(response, "error")));
               });
}

std::unique_ptr<ProcessAgent::Turn> ClaudeAgent::NewTurn(const TurnRequest& turn,
                                                         TurnSink& sink) {
  return std::make_unique<ClaudeTurn>(*this, turn, sink);
}

}  // namespace codeswarm::worker::claude
