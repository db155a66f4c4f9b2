#include "router/router_core.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <variant>

namespace codeswarm::router {
namespace json = boost::json;

RouterCore::RouterCore(RouterOptions options, Executor& executor, ClientChannel& clients,
                       Store& store, provider::ClusterProvider& provider, const Clock& clock)
    : options_(std::move(options)),
      executor_(executor),
      store_(store),
      provider_(provider),
      clock_(clock),
      events_(clients, store, clock) {
  // One journal transaction per loop turn at most: entry points flush when they finish, and
  // whatever is queued from a timer or a pool callback is flushed right after it.
  events_.set_on_pending([this, alive = std::weak_ptr<bool>(alive_)] {
    executor_.Post([this, alive] {
      if (auto a = alive.lock(); a && *a) events_.Flush();
    });
  });
  events_.set_on_flushed([this](const std::vector<NodeMark>& marks) { OnJournalFlushed(marks); });
  events_.set_on_journal_failed([this](const Status& error) { OnStorageFailed(error); });
}

RouterCore::~RouterCore() { *alive_ = false; }

void RouterCore::UseJournalThread(Executor& journal) {
  events_.set_writer([&journal, alive = std::weak_ptr<bool>(alive_)](
                         std::function<void()> work, std::function<void()> done) {
    journal.RunBlocking(std::move(work), [alive, done = std::move(done)] {
      if (auto a = alive.lock(); a && *a) done();
    });
  });
}

Status RouterCore::Start() {
  Result<std::vector<SwarmRecord>> records = store_.LoadSwarms();
  if (!records.ok()) return records.status();
  int active = 0;
  for (const SwarmRecord& r : *records) {
    auto swarm = std::make_unique<Swarm>();
    swarm->swarm_id = r.swarm_id;
    swarm->job_id = r.job_id;
    swarm->backend = r.backend;
    swarm->secret = r.secret;
    swarm->system_prompt = r.system_prompt;
    swarm->agent_json = r.agent_json;
    swarm->node_count = r.node_count;
    swarm->status = ParseSwarmStatus(r.status).value_or(SwarmStatus::kEnded);
    swarm->backend_state = r.backend_state;
    swarm->reason = r.reason;
    swarm->created_ms = r.created_ms;
    swarm->ended_ms = r.ended_ms;
    if (auto agent = json::parse(r.agent_json); agent.is_object()) {
      if (const json::value* kind = agent.as_object().if_contains("kind")) {
        if (kind->is_string()) swarm->agent_kind = std::string(kind->get_string());
      }
      // The model, for prices; settings a newer router accepted may not pass here: no model.
      if (options_.validate_agent) {
        Result<AgentSummary> summary = options_.validate_agent(agent.as_object(), "agent");
        if (summary.ok()) swarm->model = summary->model;
      }
    }
    for (int i = 0; i < swarm->node_count; ++i) {
      Node node;
      node.node_id = i;
      node.conn = IsFinal(swarm->status) ? NodeConn::kExited : NodeConn::kWaiting;
      swarm->nodes.push_back(std::move(node));
    }
    swarm->RefreshIds();
    if (swarm->status == SwarmStatus::kLaunching) {
      // The router stopped before the backend answered: there is no job id to follow.
      swarm->status = SwarmStatus::kEnded;
      swarm->reason = "the router stopped while the swarm was launching";
      Persist(*swarm);
    }
    active += IsFinal(swarm->status) ? 0 : 1;
    swarms_[r.swarm_id] = std::move(swarm);
  }
  spdlog::info("loaded {} swarms from the state database ({} active)", swarms_.size(), active);
  CODESWARM_RETURN_IF_ERROR(LoadNodeMarks());
  if (Status seqs = events_.Start(); !seqs.ok()) {
    spdlog::error("cannot reserve event sequence numbers: {}", seqs.message());
  }
  CODESWARM_RETURN_IF_ERROR(LoadDeliveries());
  for (auto& [id, swarm] : swarms_) {
    // A terminate that was in progress when the router stopped is finished now.
    if (swarm->status == SwarmStatus::kTerminating) {
      StartTermination(*swarm, SwarmStatus::kTerminated, "terminated by request");
    }
    ExpectWorkersAfterRestart(*swarm);
  }
  SchedulePoll(Duration::zero());
  SchedulePrune(Duration::zero());
  WarnAboutUnknownJobs();
  events_.Flush();
  return Status::Ok();
}

void RouterCore::WarnAboutUnknownJobs() {
  using Jobs = Result<std::map<std::string, provider::JobState>>;
  executor_.RunBlockingValue<Jobs>(
      [&provider = provider_] { return provider.ListActiveJobs(); },
      [this, alive = alive_](Jobs jobs) {
        if (!*alive) return;
        if (!jobs.ok()) {
          spdlog::warn("cannot list the {} backend's active jobs: {}", provider_.name(),
                       jobs.status().message());
          return;
        }
        for (const auto& [job_id, state] : *jobs) {
          bool known = false;
          for (const auto& [id, swarm] : swarms_) known = known || swarm->job_id == job_id;
          // A job this router started but does not know (its registry was lost, or it stopped
          // in the middle of a launch): it holds resources nobody will use.
          if (!known) {
            spdlog::warn("{} job {} ({}) is active but belongs to no swarm of this router; "
                         "cancel it with the backend's own tools if it is not wanted",
                         provider_.name(), job_id, state.backend_state);
          }
        }
      });
}

void RouterCore::Shutdown() {
  shut_down_ = true;
  CancelTimer(poll_timer_);
  CancelTimer(prune_timer_);
  CancelTimer(stream_flush_timer_);
  for (auto& [client, timer] : joining_) executor_.Cancel(timer);
  CancelTimer(storage_retry_timer_);
  events_.Flush();
  RetryStorage();  // a last try at what is held, if anything
  for (auto& [id, swarm] : swarms_) {
    CancelTimer(swarm->terminate_timer);
    for (Node& node : swarm->nodes) {
      CancelTimer(node.reconnect_timer);
      CancelTimer(node.ack_timer);
    }
  }
}

const Swarm* RouterCore::FindSwarm(const std::string& swarm_id) const {
  auto it = swarms_.find(swarm_id);
  return it == swarms_.end() ? nullptr : it->second.get();
}

Swarm* RouterCore::MutableSwarm(const std::string& swarm_id) {
  auto it = swarms_.find(swarm_id);
  return it == swarms_.end() ? nullptr : it->second.get();
}

void RouterCore::OnClientConnected(ClientId client) {
  live_after_[client] = events_.delivered_seq();
  joining_[client] =
      executor_.RunAfter(kLiveJoinDelay, [this, client] { JoinLive(client, HeldLines::kSend); });
  if (StorageFailing()) {
    events_.Reply(client, "storage_failing", json::object{{"reason", StorageFailureText()}});
  }
}

void RouterCore::OnClientClosed(ClientId client) {
  auto joining = joining_.find(client);
  if (joining != joining_.end()) {
    executor_.Cancel(joining->second);
    joining_.erase(joining);
  }
  live_after_.erase(client);
}

void RouterCore::JoinLive(ClientId client, HeldLines held) {
  auto joining = joining_.find(client);
  if (joining == joining_.end()) return;
  executor_.Cancel(joining->second);
  joining_.erase(joining);
  const uint64_t handed_out = events_.Join(client, held);
  // Dropped: the client gets none of what was broadcast before now live.
  if (held == HeldLines::kDrop) live_after_[client] = handed_out;
}

void RouterCore::OnClientLine(ClientId client, std::string_view line) {
  DispatchClientLine(client, line);
  events_.Flush();
}

void RouterCore::DispatchClientLine(ClientId client, std::string_view line) {
  auto parsed = protocol::ParseCommandLine(line, {.max_nodes = options_.max_nodes});
  if (auto* rejection = std::get_if<protocol::Rejection>(&parsed)) {
    JoinLive(client, HeldLines::kSend);
    Reject(client, *rejection);
    return;
  }
  const protocol::Command& command = std::get<protocol::Command>(parsed);
  // A subscribe joins the client itself, dropping what its replay will hold.
  if (command.kind != protocol::CommandKind::kSubscribe || shut_down_) {
    JoinLive(client, HeldLines::kSend);
  }
  if (shut_down_) {
    Reject(client, command, protocol::RejectCode::kShuttingDown, "the router is shutting down");
    return;
  }
  switch (command.kind) {
    case protocol::CommandKind::kSwarmLaunch: HandleLaunch(client, command); break;
    case protocol::CommandKind::kInject: HandleInject(client, command); break;
    case protocol::CommandKind::kInterrupt: HandleInterrupt(client, command); break;
    case protocol::CommandKind::kSwarmList: HandleList(client, command); break;
    case protocol::CommandKind::kSwarmStatus: HandleStatus(client, command); break;
    case protocol::CommandKind::kSwarmTerminate: HandleTerminate(client, command); break;
    case protocol::CommandKind::kSubscribe: HandleSubscribe(client, command); break;
  }
}

void RouterCore::OnClientLineTooLong(ClientId client, std::size_t limit) {
  JoinLive(client, HeldLines::kSend);
  Reject(client, protocol::Rejection{std::nullopt, std::nullopt,
                                     protocol::RejectCode::kLineTooLong,
                                     "line exceeds the limit of " + std::to_string(limit) +
                                         " bytes; it was discarded"});
  events_.Flush();
}

void RouterCore::Reject(ClientId client, const protocol::Rejection& rejection) {
  json::object data;
  data["request_id"] = rejection.request_id ? json::value(*rejection.request_id) : nullptr;
  if (rejection.command) data["command"] = *rejection.command;
  data["code"] = protocol::RejectCodeName(rejection.code);
  data["reason"] = rejection.reason;
  spdlog::debug("rejected {}: {}", rejection.command.value_or("line"), rejection.reason);
  events_.Reply(client, "command_rejected", data);
}

void RouterCore::Reject(ClientId client, const protocol::Command& command,
                        protocol::RejectCode code, std::string reason) {
  Reject(client, protocol::Rejection{command.request_id, command.name, code, std::move(reason)});
}

void RouterCore::CancelTimer(std::optional<TimerId>& timer) {
  if (timer) executor_.Cancel(*timer);
  timer.reset();
}

Status RouterCore::Persist(const Swarm& swarm) {
  SwarmRecord r;
  r.swarm_id = swarm.swarm_id;
  r.job_id = swarm.job_id;
  r.backend = swarm.backend;
  r.node_count = swarm.node_count;
  r.system_prompt = swarm.system_prompt;
  r.agent_json = swarm.agent_json;
  r.secret = swarm.secret;
  r.status = SwarmStatusName(swarm.status);
  r.backend_state = swarm.backend_state;
  r.reason = swarm.reason;
  r.created_ms = swarm.created_ms;
  r.ended_ms = swarm.ended_ms;
  Status saved = store_.SaveSwarm(r);
  if (!saved.ok()) {
    spdlog::error("swarm {}: {}", swarm.swarm_id, saved.message());
    unsaved_swarms_.insert(swarm.swarm_id);  // saved again when the database can be written
    OnStorageFailed(saved);
  } else {
    unsaved_swarms_.erase(swarm.swarm_id);
  }
  return saved;
}

}  // namespace codeswarm::router
