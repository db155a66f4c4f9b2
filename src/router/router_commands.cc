// RouterCore: the client commands.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "common/ids.h"
#include "common/json_reader.h"
#include "protocol/worker_protocol.h"
#include "router/router_core.h"

namespace codeswarm::router {
namespace json = boost::json;
using protocol::RejectCode;

json::object RouterCore::SwarmSummary(const Swarm& swarm) const {
  return json::object{{"swarm_id", swarm.swarm_id},
                      {"job_id", swarm.job_id},
                      {"node_count", swarm.node_count},
                      {"status", SwarmStatusName(swarm.status)},
                      {"backend", swarm.backend},
                      {"backend_state", swarm.backend_state},
                      {"reason", swarm.reason},
                      {"agent_kind", swarm.agent_kind},
                      {"system_prompt", swarm.system_prompt},
                      {"nodes_connected", swarm.ConnectedCount()},
                      {"created_at", FormatIso8601(swarm.created_ms)}};
}

json::object RouterCore::NodeIds(const Swarm& swarm, const Node& node) const {
  return json::object{
      {"swarm_id", swarm.swarm_id}, {"job_id", swarm.job_id}, {"node_id", node.node_id}};
}

void RouterCore::HandleLaunch(ClientId client, const protocol::Command& command) {
  if (RejectWhileStorageFails(client, command)) return;
  const auto& launch = std::get<protocol::LaunchPayload>(command.payload);
  // The swarm's agent settings: the config's, with the launch's override merged in.
  json::object agent = json::parse(options_.default_agent_json).as_object();
  if (!launch.agent_json.empty()) {
    agent = MergeJsonObjects(agent, json::parse(launch.agent_json).as_object());
  }
  if (!options_.validate_agent) {
    Reject(client, command, RejectCode::kLaunchFailed,
           "this router cannot check agent settings (built without an agent validator)");
    return;
  }
  Result<AgentSummary> agent_kind = options_.validate_agent(agent, "payload.agent");
  if (!agent_kind.ok()) {
    Reject(client, command, RejectCode::kInvalidPayload, agent_kind.status().message());
    return;
  }

  auto swarm = std::make_unique<Swarm>();
  do {
    swarm->swarm_id = NewId("s");
  } while (swarms_.count(swarm->swarm_id) != 0);
  swarm->backend = options_.backend;
  swarm->secret = NewSecret();
  swarm->system_prompt = launch.system_prompt;
  swarm->agent_json = json::serialize(agent);
  swarm->agent_kind = std::move(agent_kind->kind);
  swarm->model = std::move(agent_kind->model);
  swarm->node_count = launch.nodes;
  swarm->status = SwarmStatus::kLaunching;
  swarm->created_ms = events_.WallMillis();
  for (int i = 0; i < launch.nodes; ++i) {
    Node node;
    node.node_id = i;
    swarm->nodes.push_back(std::move(node));
  }
  swarm->RefreshIds();

  provider::LaunchSpec spec;
  spec.swarm_id = swarm->swarm_id;
  spec.node_count = launch.nodes;
  spec.router_address = options_.worker_address;
  spec.secret = swarm->secret;
  spec.swarm_dir = options_.swarms_root + "/" + swarm->swarm_id;
  spec.worker_orphan_seconds = options_.worker_orphan_seconds;
  spec.worker_log_level = options_.worker_log_level;
  const std::string swarm_id = swarm->swarm_id;
  swarms_[swarm_id] = std::move(swarm);
  spdlog::info("launching swarm {}: {} nodes on {}", swarm_id, launch.nodes, options_.backend);

  using Launched = Result<std::pair<std::string, provider::JobState>>;
  executor_.RunBlockingValue<Launched>(
      [&provider = provider_, spec]() -> Launched {
        Result<std::string> job = provider.Launch(spec);
        if (!job.ok()) return job.status();
        // One status call right away, so swarm_launched already says pending or running.
        provider::JobState state{provider::JobPhase::kPending, "", "", false, {}};
        auto states = provider.JobStates({*job});
        if (states.ok() && states->count(*job) != 0) state = states->at(*job);
        return std::make_pair(*job, state);
      },
      [this, alive = alive_, swarm_id, request_id = command.request_id, client](Launched r) {
        if (*alive) FinishLaunch(swarm_id, request_id, client, std::move(r));
      });
}

void RouterCore::FinishLaunch(const std::string& swarm_id, const std::string& request_id,
                              ClientId client, Result<std::pair<std::string, provider::JobState>> launched) {
  Swarm* swarm = MutableSwarm(swarm_id);
  if (swarm == nullptr) return;
  if (!launched.ok()) {
    AbandonLaunch(*swarm, request_id, client,
                  options_.backend + " backend: " + launched.status().message());
    return;
  }
  swarm->job_id = launched->first;
  swarm->RefreshIds();
  swarm->status = launched->second.phase == provider::JobPhase::kPending ? SwarmStatus::kPending
                                                                           : SwarmStatus::kRunning;
  if (swarm->ConnectedCount() > 0) swarm->status = SwarmStatus::kRunning;
  swarm->backend_state = launched->second.backend_state;
  swarm->reason = launched->second.reason;
  if (Status saved = Persist(*swarm); !saved.ok()) {
    const std::string job_id = swarm->job_id;
    CancelOrphanJob(job_id);
    AbandonLaunch(*swarm, request_id, client,
                  "job " + job_id + " was started but the state database cannot record it (" +
                      saved.message() + "), so it is being cancelled");
    return;
  }
  spdlog::info("swarm {} launched as job {} ({})", swarm_id, swarm->job_id,
               SwarmStatusName(swarm->status));
  json::object data = SwarmSummary(*swarm);
  data["request_id"] = request_id;
  events_.Broadcast("swarm_launched", data);
  // Workers that connected while the backend call was still running are announced now, so that
  // nothing about this swarm precedes its swarm_launched.
  for (Node& node : swarm->nodes) {
    if (node.conn != NodeConn::kConnected) continue;
    json::object connected = NodeIds(*swarm, node);
    connected["hostname"] = node.hostname;
    connected["pid"] = node.pid;
    events_.Broadcast("node_connected", connected);
  }
  if (swarm->termination == TerminationState::kRequestedWhileLaunching) {
    StartTermination(*swarm);
  } else if (launched->second.phase == provider::JobPhase::kEnded) {
    ApplyJobState(*swarm, launched->second);
  }
}

Swarm* RouterCore::LiveSwarmOrReject(ClientId client, const protocol::Command& command,
                                     const std::string& swarm_id) {
  Swarm* swarm = MutableSwarm(swarm_id);
  if (swarm == nullptr) {
    Reject(client, command, RejectCode::kUnknownSwarm, "unknown swarm_id \"" + swarm_id + "\"");
    return nullptr;
  }
  if (IsFinal(swarm->status) || swarm->status == SwarmStatus::kTerminating) {
    Reject(client, command, RejectCode::kSwarmEnded,
           "swarm " + swarm->swarm_id + " is " + std::string(SwarmStatusName(swarm->status)) +
               "; it takes no more injections");
    return nullptr;
  }
  return swarm;
}

void RouterCore::HandleInject(ClientId client, const protocol::Command& command) {
  if (RejectWhileStorageFails(client, command)) return;
  const auto& inject = std::get<protocol::InjectPayload>(command.payload);
  Swarm* swarm = LiveSwarmOrReject(client, command, inject.swarm_id);
  if (swarm == nullptr) return;
  Result<std::vector<int>> targets = inject.nodes.Resolve(swarm->node_count, swarm->swarm_id);
  if (!targets.ok()) {
    Reject(client, command, RejectCode::kInvalidPayload, targets.status().message());
    return;
  }
  const std::string injection_id = "i-" + RandomHex(6);
  json::array target_list;
  for (int node_id : *targets) target_list.emplace_back(node_id);
  for (int node_id : *targets) {
    Node& node = swarm->nodes[static_cast<std::size_t>(node_id)];
    json::object ack = NodeIds(*swarm, node);
    ack["request_id"] = command.request_id;
    ack["injection_id"] = injection_id;
    ack["nodes"] = target_list;
    const uint64_t ack_seq = events_.Broadcast("inject_ack", ack);
    Delivery delivery{injection_id, command.request_id, inject.content, Delivery::State::kQueued,
                      ack_seq, "", clock_.Now()};
    if (node.conn == NodeConn::kLost || node.conn == NodeConn::kExited) {
      EmitInjectFailed(*swarm, node, delivery,
                       "node " + std::to_string(node_id) + " is " +
                           std::string(node.StateName()) +
                           (node.state_reason.empty() ? "" : " (" + node.state_reason + ")") +
                           " and takes no more injections");
      continue;
    }
    if (!node.draining.empty()) {
      EmitInjectFailed(*swarm, node, delivery,
                       "node " + std::to_string(node_id) + " is draining: " + node.draining);
      continue;
    }
    node.deliveries.push_back(std::move(delivery));
    // Durable with this inject_ack's journal commit, before any client sees the ack.
    KeepDelivery(*swarm, node, node.deliveries.back());
    if (node.conn == NodeConn::kConnected) SendInject(node, node.deliveries.back());
  }
  spdlog::debug("inject {} into swarm {}: {} nodes", injection_id, swarm->swarm_id,
                targets->size());
}

void RouterCore::HandleInterrupt(ClientId client, const protocol::Command& command) {
  const auto& interrupt = std::get<protocol::InterruptPayload>(command.payload);
  Swarm* swarm = LiveSwarmOrReject(client, command, interrupt.swarm_id);
  if (swarm == nullptr) return;
  Result<std::vector<int>> targets = interrupt.nodes.Resolve(swarm->node_count, swarm->swarm_id);
  if (!targets.ok()) {
    Reject(client, command, RejectCode::kInvalidPayload, targets.status().message());
    return;
  }
  json::array interrupted;
  json::array idle;
  for (int node_id : *targets) {
    Node& node = swarm->nodes[static_cast<std::size_t>(node_id)];
    // The node's current turn is its first delivery the worker holds.
    const Delivery* current = nullptr;
    if (!node.deliveries.empty() && node.deliveries.front().state != Delivery::State::kQueued) {
      current = &node.deliveries.front();
    }
    if (current == nullptr || node.link == nullptr) {
      idle.emplace_back(node_id);
      continue;
    }
    node.link->Send(protocol::FormatMessage(
        "interrupt", json::object{{"injection_id", current->injection_id}}));
    interrupted.push_back(
        json::object{{"node_id", node_id}, {"injection_id", current->injection_id}});
  }
  events_.Broadcast("interrupt_ack", json::object{{"request_id", command.request_id},
                                                  {"swarm_id", swarm->swarm_id},
                                                  {"job_id", swarm->job_id},
                                                  {"interrupted", std::move(interrupted)},
                                                  {"idle", std::move(idle)}});
}

void RouterCore::HandleList(ClientId client, const protocol::Command& command) {
  json::object swarms;
  for (const auto& [id, swarm] : swarms_) {
    json::object summary = SwarmSummary(*swarm);
    summary.erase("swarm_id");
    AddCostFields(*swarm, nullptr, summary);
    swarms[id] = std::move(summary);
  }
  events_.Reply(client, "swarm_list",
                json::object{{"request_id", command.request_id}, {"swarms", std::move(swarms)}});
}

void RouterCore::HandleStatus(ClientId client, const protocol::Command& command) {
  const auto& payload = std::get<protocol::SwarmPayload>(command.payload);
  const Swarm* swarm = FindSwarm(payload.swarm_id);
  if (swarm == nullptr) {
    Reject(client, command, RejectCode::kUnknownSwarm,
           "unknown swarm_id \"" + payload.swarm_id + "\"");
    return;
  }
  json::object data = SwarmSummary(*swarm);
  data["request_id"] = command.request_id;
  AddCostFields(*swarm, nullptr, data);
  json::array nodes;
  for (const Node& node : swarm->nodes) {
    int queued = 0;
    json::value running = nullptr;
    for (const Delivery& d : node.deliveries) {
      if (d.state == Delivery::State::kRunning) {
        running = d.injection_id;
      } else {
        ++queued;
      }
    }
    json::object& entry = nodes.emplace_back(json::object{{"node_id", node.node_id},
                                 {"state", node.StateName()},
                                 {"reason", node.state_reason},
                                 {"queued", queued},
                                 {"running_injection", running},
                                 {"turns_completed", node.turns_completed},
                                 {"total_tokens", node.total_tokens},
                                 {"hostname", node.hostname},
                                 {"pid", node.pid}}).as_object();
    AddCostFields(*swarm, &node, entry);
  }
  data["nodes"] = std::move(nodes);
  events_.Reply(client, "swarm_status", data);
}

void RouterCore::HandleTerminate(ClientId client, const protocol::Command& command) {
  const auto& payload = std::get<protocol::SwarmPayload>(command.payload);
  Swarm* swarm = MutableSwarm(payload.swarm_id);
  if (swarm == nullptr) {
    Reject(client, command, RejectCode::kUnknownSwarm,
           "unknown swarm_id \"" + payload.swarm_id + "\"");
    return;
  }
  if (IsFinal(swarm->status)) {
    events_.Broadcast("swarm_terminated", json::object{{"request_id", command.request_id},
                                                       {"swarm_id", swarm->swarm_id},
                                                       {"job_id", swarm->job_id}});
    return;
  }
  swarm->terminate_waiters.push_back({client, command.request_id});
  if (swarm->status == SwarmStatus::kLaunching) {
    swarm->termination = TerminationState::kRequestedWhileLaunching;  // FinishLaunch goes on
  } else if (swarm->status != SwarmStatus::kTerminating) {
    StartTermination(*swarm);
  }
}

}  // namespace codeswarm::router
