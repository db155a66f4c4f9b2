// Builds the agent adapter named by agent settings' `kind`.
#pragma once

#include <memory>

#include "common/status.h"
#include "worker/agent.h"
#include "worker/agent_settings.h"

namespace codeswarm::worker {

Result<std::unique_ptr<Agent>> MakeAgent(const AgentSettings& settings);

}  // namespace codeswarm::worker
