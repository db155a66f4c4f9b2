// The client commands, each run over an open Client and writing to an Output. They return the
// process exit code (exit_codes.h). Arguments arrive checked: nothing here is a usage error.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>

#include "cli/client.h"
#include "cli/command_support.h"
#include "cli/node_spec.h"
#include "cli/output.h"

namespace codeswarm::cli {

struct LaunchRequest {
  int nodes = 1;
  std::string system_prompt;
  // Merged by the router over the config's agent section; absent: the config's as is.
  std::optional<boost::json::object> agent;
  // Keep following the swarm until every node is connected.
  bool wait = false;
  // For the answer and, with `wait`, for everything.
  double timeout_seconds = kLaunchTimeoutSeconds;
};

// swarm_launch; prints the swarm, job and an inject hint; with `wait`, progress until all nodes
// are connected (0), the swarm ends (1) or the timeout passes (1).
int Launch(Client& client, Output& output, const LaunchRequest& request);

struct InjectRequest {
  std::string swarm_id;
  std::string content;
  NodeSpec nodes;
  // For the acks.
  double timeout_seconds = kDefaultTimeoutSeconds;
  // For the turns after the acks; 0: wait as long as they take.
  double turn_timeout_seconds = 0;
  // How long to get a lost connection back (the turns are followed on); 0: give up at once.
  double reconnect_seconds = kDefaultReconnectSeconds;
  // Leave out the assistant_delta events (--no-deltas): each answer comes whole.
  bool skip_deltas = false;
  // Where the deadlines are read (borrowed; must advance on its own, or as the dialer pauses).
  const Clock* clock = &SystemClock::Get();
};

// inject; streams every targeted node's answer until each one ended (see InjectFollower).
int Inject(Client& client, Output& output, const InjectRequest& request);

// swarm_status: header and table of nodes.
int ShowStatus(Client& client, Output& output, const std::string& swarm_id, double timeout_seconds);

// swarm_list: one table row per swarm.
int ListSwarms(Client& client, Output& output, double timeout_seconds);

// interrupt: asks the targeted nodes to stop their current turn; prints which turns were
// interrupted and which nodes were idle. The turns' own endings go to whoever follows them.
int InterruptTurns(Client& client, Output& output, const std::string& swarm_id,
                   const NodeSpec& nodes, double timeout_seconds);

// approval_decide: a person's answer ("accept" or "decline") to approval request `approval_id`
// of node `node_id`; prints that it was passed on. The agent's answer follows as an `approval`
// event (attach shows it).
int DecideApproval(Client& client, Output& output, const std::string& swarm_id, int node_id,
                   const std::string& approval_id, const std::string& decision,
                   double timeout_seconds);

// swarm_terminate, waiting for swarm_terminated.
int Terminate(Client& client, Output& output, const std::string& swarm_id, double timeout_seconds);

struct AttachRequest {
  std::string swarm_id;
  // Show the swarm's events after this seq (0: all the router still keeps); nullopt: from now.
  std::optional<int64_t> since_seq;
  // For the status and subscribe answers.
  double timeout_seconds = kDefaultTimeoutSeconds;
  // How long to get a lost connection back; 0: give up at once.
  double reconnect_seconds = kDefaultReconnectSeconds;
  // Leave out the assistant_delta events (--no-deltas): each answer comes whole.
  bool skip_deltas = false;
  // Where the deadlines are read (borrowed; must advance on its own, or as the dialer pauses).
  const Clock* clock = &SystemClock::Get();
};

// swarm_status (the swarm must exist), then every event of the swarm in seq order until Ctrl-C
// (0) or the swarm ends (0), across lost connections (see FollowStream). With since_seq, a swarm
// that is already over shows its journaled events and ends.
int Attach(Client& client, Output& output, const AttachRequest& request);

}  // namespace codeswarm::cli
