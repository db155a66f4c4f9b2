// Settings of the agent a swarm runs: `agent.kind` selects the adapter, and each kind has its
// own sub-object. They come from the config's `agent` section, optionally overridden per swarm by
// the `agent` object of swarm_launch, and reach each worker in its welcome message.
#pragma once

#include <boost/json/fwd.hpp>

#include <string>
#include <vector>

#include "common/status.h"

namespace codeswarm {

struct MockAgentSettings {
  // Placeholders: {prompt}, {node_id}, {turn}, {system_prompt}.
  std::string reply = "node {node_id} heard: {prompt}";
  int chunks = 4;
  int chunk_delay_ms = 0;
  // "none", "turn" (the turn fails with an error) or "crash" (the worker process dies).
  std::string fail = "none";
  // How many deltas are streamed before a failure happens.
  int fail_after_chunks = 1;
};

struct AgentSettings {
  std::string kind = "mock";
  // 0 = no limit. A turn that runs longer is interrupted and ends as failed.
  double turn_timeout_seconds = 0;
  MockAgentSettings mock;
};

// The agent kinds this build knows.
const std::vector<std::string_view>& AgentKinds();

// Validates `object` (found at `path`, e.g. "agent" or "payload.agent") and returns the settings,
// or an error naming every bad key with its path.
Result<AgentSettings> ParseAgentSettings(const boost::json::object& object,
                                         const std::string& path);

// Returns `base` with `override` merged in: objects merge key by key, anything else replaces.
boost::json::object MergeJsonObjects(const boost::json::object& base,
                                     const boost::json::object& override_with);

}  // namespace codeswarm
