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
