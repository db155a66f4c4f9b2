// status, list and terminate: one request, one answer.
#include <boost/json.hpp>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/render.h"

namespace codeswarm::cli {

int ShowStatus(Client& client, Output& output, const std::string& swarm_id,
               double timeout_seconds) {
  Answer answer =
      Request(client, output, "swarm_status", {{"swarm_id", swarm_id}}, timeout_seconds);
  if (!answer.event) return answer.exit_code;
  output.human() << RenderSwarmStatus(answer.event->data);
  return kExitOk;
}

int ListSwarms(Client& client, Output& output, double timeout_seconds) {
  Answer answer = Request(client, output, "swarm_list", {}, timeout_seconds);
  if (!answer.event) return answer.exit_code;
  output.human() << RenderSwarmList(answer.event->data);
  return kExitOk;
}

int InterruptTurns(Client& client, Output& output, const std::string& swarm_id,
                   const NodeSpec& nodes, double timeout_seconds) {
  Answer answer = Request(client, output, "interrupt",
                          {{"swarm_id", swarm_id}, {"nodes", NodeSpecToJson(nodes)}},
                          timeout_seconds);
  if (!answer.event) return answer.exit_code;
  std::vector<int64_t> idle;
  if (const boost::json::value* list = answer.event->data.if_contains("idle");
      list != nullptr && list->is_array()) {
    for (const boost::json::value& node : list->get_array()) {
      if (node.is_int64()) idle.push_back(node.get_int64());
    }
  }
  if (const boost::json::value* list = answer.event->data.if_contains("interrupted");
      list != nullptr && list->is_array()) {
    for (const boost::json::value& entry : list->get_array()) {
      if (!entry.is_object()) continue;
      const boost::json::object& turn = entry.get_object();
      const boost::json::value* node = turn.if_contains("node_id");
      const boost::json::value* injection = turn.if_contains("injection_id");
      if (node == nullptr || !node->is_int64() || injection == nullptr || !injection->is_string()) {
        continue;
      }
      output.human() << "[node " << node->get_int64() << "] interrupting injection "
                     << std::string_view(injection->get_string()) << "\n";
    }
  }
  if (!idle.empty()) {
    output.human() << (idle.size() == 1 ? "node " : "nodes ") << FormatNodeList(idle)
                   << (idle.size() == 1 ? " was" : " were") << " not running a turn\n";
  }
  return kExitOk;
}

int DecideApproval(Client& client, Output& output, const std::string& swarm_id, int node_id,
                   const std::string& approval_id, const std::string& decision,
                   double timeout_seconds) {
  Answer answer = Request(client, output, "approval_decide",
                          {{"swarm_id", swarm_id},
                           {"node_id", node_id},
                           {"approval_id", approval_id},
                           {"decision", decision}},
                          timeout_seconds);
  if (!answer.event) return answer.exit_code;
  output.human() << (decision == "accept" ? "approved " : "denied ") << approval_id << " of node "
                 << node_id << " (swarm " << swarm_id << "); the decision is on its way to the agent\n";
  return kExitOk;
}

int Terminate(Client& client, Output& output, const std::string& swarm_id, double timeout_seconds) {
  Answer answer =
      Request(client, output, "swarm_terminate", {{"swarm_id", swarm_id}}, timeout_seconds);
  if (!answer.event) return answer.exit_code;
  std::string_view job_id = answer.event->Str("job_id");
  output.human() << "terminated swarm " << swarm_id << " (job " << (job_id.empty() ? "-" : job_id)
                 << ")\n";
  return kExitOk;
}

}  // namespace codeswarm::cli
