// Helpers for end-to-end tests of real agents through the real router and workers: launch a
// swarm with given agent settings, inject, and collect what each node streamed.
#pragma once

#include <boost/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "e2e/harness.h"

namespace codeswarm::e2e {

// What one node reported for one injection, from the events the client received.
struct NodeTurn {
  std::vector<std::string> events;  // event names in order, inject_ack first
  std::string streamed;             // the assistant_delta pieces joined
  int deltas = 0;
  std::optional<std::string> content;  // the assistant event's text
  std::optional<boost::json::object> usage;
  std::vector<boost::json::object> approvals;  // approval events' data
  std::string status;  // turn_complete's status, or "inject_failed"
  std::string error;   // turn_complete's error ("" when null), or inject_failed's reason
};

// Launches a swarm (payload `agent` merged over the config's) and waits until its nodes are
// connected. Returns the swarm id ("" after a test failure).
std::string LaunchSwarm(ProtocolClient& client, int nodes, const boost::json::object& agent,
                        const std::string& system_prompt);
// Terminates a swarm and waits for the answer.
void TerminateSwarm(ProtocolClient& client, const std::string& swarm);

struct Injection {
  std::string id;
  std::vector<int> nodes;
};
// Sends an inject and waits for its acknowledgement.
Injection Inject(ProtocolClient& client, const std::string& swarm, const std::string& content,
                 boost::json::value nodes = "all");
// Waits until every node of `injection` ended (turn_complete or inject_failed), then returns
// what each reported.
std::map<int, NodeTurn> WaitTurns(ProtocolClient& client, const Injection& injection,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(60));
std::map<int, NodeTurn> InjectAndWait(ProtocolClient& client, const std::string& swarm,
                                      const std::string& content, boost::json::value nodes = "all");
// Waits until each node of `injection` streamed at least one assistant_delta.
void WaitFirstDeltas(ProtocolClient& client, const Injection& injection);

// The directory node `node` of `swarm` works in, for a RouterProcess on `dir` (default
// cluster_subdir).
std::string NodeDir(const TempDir& dir, const std::string& swarm, int node);

// A value of the JSON object at `key` as an integer (0 when absent).
int64_t IntField(const boost::json::object& object, const char* key);

}  // namespace codeswarm::e2e
