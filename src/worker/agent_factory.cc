#include "worker/agent_factory.h"

#include "worker/claude/claude_agent.h"
#include "worker/codex/codex_agent.h"
#include "worker/mock_agent.h"
#include "worker/openai/openai_agent.h"

namespace codeswarm::worker {

Result<std::unique_ptr<Agent>> MakeAgent(const AgentSettings& settings) {
  if (settings.kind == "mock") return std::unique_ptr<Agent>(std::make_unique<MockAgent>(settings.mock));
  if (settings.kind == "codex") {
    return codex::MakeCodexAgent(settings.codex);
  }
  if (settings.kind == "claude") {
    return claude::MakeClaudeAgent(settings.claude);
  }
  if (settings.kind == "openai") {
    return std::unique_ptr<Agent>(std::make_unique<openai::OpenAiAgent>(settings.openai));
  }
  return Status::InvalidArgument("agent kind \"" + settings.kind + "\" is not supported by this worker");
}

}  // namespace codeswarm::worker
