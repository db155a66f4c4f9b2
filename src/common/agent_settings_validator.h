// The `agent` object of the config and of swarm_launch is opaque outside the worker: which agent
// kinds exist and what settings each takes is the worker's knowledge (worker/agent_settings.h).
// Whoever must check such an object before any worker sees it (the config loader, the router's
// launch) is given a validator; main wires in the worker's.
#pragma once

#include <boost/json/fwd.hpp>

#include <functional>
#include <string>

#include "common/status.h"

namespace codeswarm {

// What the router may know of valid agent settings.
struct AgentSummary {
  std::string kind;   // "mock", "codex", ...
  // The model the agent is told to use, as its vendor names it (prices are looked up by it);
  // empty when the settings leave it to the agent's own default, which only the agent knows.
  std::string model;
};

// Checks `agent`, found at `path` ("agent", "payload.agent"), and returns the agent kind and
// model it selects, or an error naming every bad key with its path.
using AgentSettingsValidator =
    std::function<Result<AgentSummary>(const boost::json::object& agent, const std::string& path)>;

}  // namespace codeswarm
