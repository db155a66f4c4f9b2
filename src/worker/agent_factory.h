// Builds the agent adapter named by agent settings' `kind`.
#pragma once

#include <memory>

#include "worker/agent_settings.h"
#include "common/status.h"
#include "worker/agent.h"

namespace codeswarm::worker {

Result<std::unique_ptr<Agent>> MakeAgent(const AgentSettings& settings);

}  // namespace codeswarm::worker
