// RouterCore: the worker side — hello, deliveries, runtime events, acknowledgements.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>

#include "common/ids.h"
#include "common/json_reader.h"
#include "protocol/worker_protocol.h"
#include "router/router_core.h"

namespace codeswarm::router {
namespace json = boost::json;

void RouterCore::OnWorkerConnected(ConnId conn, WorkerConnection* link, std::string proven_swarm) {
  worker_conns_[conn] = WorkerConnInfo{link, std::move(proven_swarm), nullptr, -1, {}};
}

void RouterCore::ProtocolViolation(ConnId conn, WorkerConnInfo& info, const std::string& what) {
  spdlog::warn("worker connection {}: {}; closing it", conn, what);
  info.link->Send(protocol::FormatMessage("reject", json::object{{"reason", what}}));
  info.link->Close(what);
}

void RouterCore::OnWorkerLine(ConnId conn, std::string_view line) {
  DispatchWorkerLine(conn, line);
  // Runtime events are journaled once per read (OnWorkerBatchEnd); the rest is rare.
  if (!line.starts_with("event ")) events_.Flush();
}

void RouterCore::DispatchWorkerLine(ConnId conn, std::string_view line) {
  auto it = worker_conns_.find(conn);
  if (it == worker_conns_.end()) return;
  WorkerConnInfo& info = it->second;
  Result<protocol::WorkerLine> split = protocol::SplitWorkerLine(line);
  if (!split.ok()) {
    ProtocolViolation(conn, info, split.status().message());
    return;
  }
  std::string_view verb = split->verb;
  if (info.swarm == nullptr) {
    if (verb != "hello") {
      ProtocolViolation(conn, info, "expected hello, got \"" + std::string(verb) + "\"");
      return;
    }
    HandleHello(conn, info, split->body);
    return;
  }
  Swarm& swarm = *info.swarm;
  Node& node = swarm.nodes[static_cast<std::size_t>(info.node_id)];
  if (verb == "event") {
    HandleEvent(swarm, node, split->body);
  } else if (verb == "received") {
    HandleReceived(swarm, node, split->body);
  } else if (verb == "ping") {
    info.link->Send(protocol::FormatMessage("pong", json::object{}));
  } else if (verb == "pong") {
    // Any line is a sign of life; the session keeps the time.
  } else if (verb == "draining") {
    HandleDraining(swarm, node, split->body);
  } else if (verb == "drained") {
    node.drained = true;
    if (swarm.status == SwarmStatus::kTerminating && swarm.AllConnectedDrained()) {
      TerminateJob(swarm);  // every worker has ended its turns: stop the job now
    }
  } else if (verb == "bye") {
    Result<std::string> reason = protocol::ParseStringField(split->body, "reason");
    info.bye_reason = reason.ok() ? *reason : "no reason given";
    spdlog::info("swarm {} node {}: worker says bye: {}", swarm.swarm_id, node.node_id,
                 info.bye_reason);
  } else {
    // A newer worker may say things this router does not know; say so, do not fail.
    spdlog::warn("swarm {} node {}: ignoring unknown worker message \"{}\"", swarm.swarm_id,
                 node.node_id, std::string(verb));
  }
}

void RouterCore::HandleHello(ConnId conn, WorkerConnInfo& info, std::string_view body) {
  Result<protocol::Hello> hello = protocol::ParseHello(body);
  if (!hello.ok()) {
    ProtocolViolation(conn, info, "bad hello: " + hello.status().message());
    return;
  }
  Swarm* swarm = MutableSwarm(hello->swarm_id);
  if (swarm == nullptr || hello->swarm_id != info.proven_swarm) {
    // The handshake already proved the key of info.proven_swarm; a hello for another swarm is
    // a worker confused about who it is (or worse).
    ProtocolViolation(conn, info, "hello for swarm " + JsonQuote(hello->swarm_id) +
                                      " on a connection keyed for " + JsonQuote(info.proven_swarm));
    return;
  }
  if (IsFinal(swarm->status) || swarm->status == SwarmStatus::kTerminating) {
    ProtocolViolation(conn, info, "swarm " + swarm->swarm_id + " is " +
                                      std::string(SwarmStatusName(swarm->status)));
    return;
  }
  if (hello->node_id >= swarm->node_count) {
    ProtocolViolation(conn, info, "node " + std::to_string(hello->node_id) +
                                      " is out of range (swarm has " +
                                      std::to_string(swarm->node_count) + " nodes)");
    return;
  }
  Node& node = swarm->nodes[static_cast<std::size_t>(hello->node_id)];
  if (node.conn == NodeConn::kLost || node.conn == NodeConn::kExited) {
    ProtocolViolation(conn, info, "node " + std::to_string(node.node_id) +
                                      " was given up on; its turns have ended");
    return;
  }
  if (node.conn_id != 0) {
    // The same node again: the old connection is dead or dying (e.g. a network blip the router
    // has not noticed yet). The newest one wins.
    auto old = worker_conns_.find(node.conn_id);
    if (old != worker_conns_.end()) {
      old->second.swarm = nullptr;
      old->second.link->Close("replaced by a new connection from the same node");
    }
  }
  if (!node.instance.empty() && node.instance != hello->instance) {
    // A new worker process for this node: the old one's turns can never complete.
    std::deque<Delivery> kept;
    for (Delivery& d : node.deliveries) {
      if (d.state == Delivery::State::kQueued) {
        kept.push_back(std::move(d));
      } else {
        EmitTurnComplete(*swarm, node, d, "failed",
                         "worker restarted: the previous worker process of node " +
                             std::to_string(node.node_id) + " is gone");
      }
    }
    node.deliveries = std::move(kept);
    node.last_seq = node.journaled_seq = node.acked_seq = 0;
    node.draining.clear();
    node.drained = false;
  }
  if (node.instance.empty() && hello->instance != node.journal_instance) {
    // The journal's mark belongs to another worker process (or there is none): this one's
    // seqs start afresh.
    node.last_seq = node.journaled_seq = node.acked_seq = 0;
  }
  std::vector<std::string> already_held;  // queued here, but the worker has them
  if (node.instance.empty()) {
    // First contact since this router started (router_deliveries.cc).
    already_held = TakeOverHeldInjections(*swarm, node, hello->instance, hello->holding);
  }
  CancelTimer(node.reconnect_timer);
  node.instance = hello->instance;
  node.journal_instance = hello->instance;
  node.hostname = hello->hostname;
  node.pid = hello->pid;
  node.conn = NodeConn::kConnected;
  node.conn_id = conn;
  node.link = info.link;
  node.gone_reason.clear();
  node.state_reason.clear();
  node.last_heard = clock_.Now();
  info.swarm = swarm;
  info.node_id = node.node_id;

  protocol::Welcome welcome;
  // What the journal holds, not what was taken: events taken but held unjournaled (a failing
  // disk) must stay with the worker until they are journaled.
  welcome.ack_seq = node.journaled_seq;
  welcome.system_prompt = swarm->system_prompt;
  welcome.agent_json = swarm->agent_json;
  welcome.heartbeat_seconds = options_.heartbeat_seconds;
  welcome.timeout_seconds = options_.worker_timeout_seconds;
  info.link->Send(protocol::FormatMessage("welcome", protocol::WelcomeToJson(welcome)));
  for (const Delivery& d : node.deliveries) {
    if (d.state == Delivery::State::kQueued &&
        std::find(already_held.begin(), already_held.end(), d.injection_id) ==
            already_held.end()) {
      SendInject(node, d);
    }
  }
  spdlog::info("swarm {} node {} connected (pid {} on {})", swarm->swarm_id, node.node_id,
               node.pid, node.hostname);
  if (swarm->status == SwarmStatus::kLaunching) return;  // announced by FinishLaunch
  if (swarm->status == SwarmStatus::kPending) SetStatus(*swarm, SwarmStatus::kRunning);
  json::object data = NodeIds(*swarm, node);
  data["hostname"] = node.hostname;
  data["pid"] = node.pid;
  events_.Broadcast("node_connected", data);
  // (A launching swarm's workers are new and hold nothing, so returning above skips nothing.)
  for (const std::string& id : already_held) {
    if (Delivery* d = node.FindDelivery(id)) MarkDelivered(*swarm, node, *d);
  }
}

void RouterCore::SendInject(Node& node, const Delivery& delivery) {
  node.link->Send(protocol::FormatMessage(
      "inject", json::object{{"injection_id", delivery.injection_id},
                             {"content", delivery.content}}));
}

void RouterCore::HandleReceived(Swarm& swarm, Node& node, std::string_view body) {
  Result<std::string> id = protocol::ParseStringField(body, "injection_id");
  if (!id.ok()) {
    spdlog::error("swarm {} node {}: bad received message: {}", swarm.swarm_id, node.node_id,
                  id.status().message());
    return;
  }
  Delivery* delivery = node.FindDelivery(*id);
  if (delivery == nullptr || delivery->state != Delivery::State::kQueued) return;  // repeated
  MarkDelivered(swarm, node, *delivery);
}

void RouterCore::MarkDelivered(const Swarm& swarm, const Node& node, Delivery& delivery) {
  delivery.state = Delivery::State::kDelivered;
  delivery.instance = node.instance;
  KeepDelivery(swarm, node, delivery);
  json::object data = NodeIds(swarm, node);
  data["request_id"] = delivery.request_id;
  data["injection_id"] = delivery.injection_id;
  events_.Broadcast("inject_delivered", data);
}

void RouterCore::HandleEvent(Swarm& swarm, Node& node, std::string_view body) {
  Result<protocol::EventLine> event = protocol::ParseEventBody(body);
  if (!event.ok()) {
    spdlog::error("swarm {} node {}: dropping malformed event: {}", swarm.swarm_id, node.node_id,
                  event.status().message());
    return;
  }
  // Resent after a reconnect or a router restart: the journal has it already.
  if (event->seq <= node.last_seq) return;
  if (!TakesWorkerEvent(node)) return;  // the worker keeps it and resends it later
  node.last_seq = event->seq;
  events_.MarkNode(swarm.swarm_id, node.node_id, node.instance, node.last_seq);
  Delivery* delivery = node.FindDelivery(event->injection_id);
  if (delivery == nullptr && node.Finished(event->injection_id)) {
    // Its turn already ended here (e.g. the router ended it when the worker was given up on).
    spdlog::debug("swarm {} node {}: event {} for finished injection {}", swarm.swarm_id,
                  node.node_id, event->event, event->injection_id);
    return;
  }
  if (delivery == nullptr) {
    // A turn this router never heard of: a previous router delivered it, and the worker had
    // finished it (so its hello did not list it) but not yet sent all its events. They are
    // not in the journal (the welcome's ack_seq said so): take them.
    node.deliveries.push_back(Delivery{std::string(event->injection_id), "", "",
                                       Delivery::State::kRunning, 0, node.instance,
                                       std::nullopt});
    delivery = &node.deliveries.back();
    KeepDelivery(swarm, node, *delivery);
  }
  if (delivery->state == Delivery::State::kQueued) {
    // Its `received` was lost with a connection; the event proves it arrived.
    MarkDelivered(swarm, node, *delivery);
  }
  const std::string_view name = event->event;
  if (name != "assistant_delta") {
    spdlog::debug("swarm {} node {}: {} {} (seq {})", swarm.swarm_id, node.node_id, name,
                  event->injection_id, event->seq);
  }
  if (name == "turn_started") {
    delivery->state = Delivery::State::kRunning;
    KeepDelivery(swarm, node, *delivery);
  }
  std::string priced;  // a usage event's data with its estimated cost (router_cost.cc)
  if (name == "usage") {
    priced = PriceUsage(swarm, node, event->data);
    KeepCounters(swarm, node);
  }
  events_.BroadcastRuntime(name, swarm.swarm_id, node.ids_json, event->injection_id,
                           name == "usage" ? std::string_view(priced) : event->data);
  ++metrics_.worker_events_forwarded;
  if (name == "turn_complete") {
    CountTurnEnd(delivery, TurnStatusOf(event->data));
    ++node.turns_completed;
    KeepCounters(swarm, node);
    ForgetDelivery(swarm, node, std::string(event->injection_id));
    node.RememberFinished(std::string(event->injection_id));
    for (auto it = node.deliveries.begin(); it != node.deliveries.end(); ++it) {
      if (it->injection_id == event->injection_id) {
        node.deliveries.erase(it);
        break;
      }
    }
  }
}

void RouterCore::HandleDraining(Swarm& swarm, Node& node, std::string_view body) {
  Result<std::string> reason = protocol::ParseStringField(body, "reason");
  node.draining = reason.ok() && !reason->empty() ? *reason : "the worker is shutting down";
  spdlog::info("swarm {} node {} is draining: {}", swarm.swarm_id, node.node_id, node.draining);
  json::object data = NodeIds(swarm, node);
  data["reason"] = node.draining;
  events_.Broadcast("node_draining", data);
  // Prompts the worker has not taken will not run there; the ones it holds it ends itself.
  std::deque<Delivery> held;
  for (Delivery& d : node.deliveries) {
    if (d.state == Delivery::State::kQueued) {
      EmitInjectFailed(swarm, node, d,
                       "node " + std::to_string(node.node_id) + " is draining: " + node.draining);
    } else {
      held.push_back(std::move(d));
    }
  }
  node.deliveries = std::move(held);
}

void RouterCore::OnWorkerBatchEnd(ConnId conn) {
  auto info = worker_conns_.find(conn);
  if (info == worker_conns_.end()) return;
  if (info->second.swarm != nullptr) {
    info->second.swarm->nodes[static_cast<std::size_t>(info->second.node_id)].last_heard =
        clock_.Now();  // a sign of life: the bound to `lost` runs from here
  }
  if (!events_.has_pending()) return;
  // One journal transaction for everything this read brought, and while nodes stream, at most
  // one per journal_commit_interval for all of them: a commit costs far more than an event.
  // The first events after a pause go out at once.
  const SteadyTime now = clock_.Now();
  const Duration interval = options_.journal_commit_interval;
  if (interval <= Duration::zero() || !last_stream_flush_ || now - *last_stream_flush_ >= interval) {
    last_stream_flush_ = now;
    CancelTimer(stream_flush_timer_);
    events_.Flush();
    return;
  }
  if (stream_flush_timer_) return;
  stream_flush_timer_ = executor_.RunAfter(interval - (now - *last_stream_flush_), [this] {
    stream_flush_timer_.reset();
    last_stream_flush_ = clock_.Now();
    events_.Flush();
  });
}

void RouterCore::OnJournalFlushed(const std::vector<NodeMark>& marks) {
  for (const NodeMark& mark : marks) {
    Swarm* swarm = MutableSwarm(mark.swarm_id);
    if (swarm == nullptr || mark.node_id >= swarm->node_count) continue;
    Node& node = swarm->nodes[static_cast<std::size_t>(mark.node_id)];
    if (node.instance != mark.instance || mark.last_seq <= node.journaled_seq) continue;
    node.journaled_seq = mark.last_seq;
    ScheduleAck(*swarm, node);
  }
}

void RouterCore::ScheduleAck(const Swarm& swarm, Node& node) {
  if (node.journaled_seq <= node.acked_seq || node.link == nullptr) return;
  // Acknowledging every read would cost a write (and the worker a read) per event while a node
  // streams; acknowledge in bulk, and shortly after the stream pauses.
  if (node.journaled_seq - node.acked_seq >= kAckEveryEvents) {
    AckNode(node);
    return;
  }
  if (node.ack_timer) return;
  node.ack_timer = executor_.RunAfter(kAckDelay, [this, swarm_id = swarm.swarm_id,
                                                  node_id = node.node_id] {
    Swarm* s = MutableSwarm(swarm_id);
    if (s == nullptr) return;
    Node& n = s->nodes[static_cast<std::size_t>(node_id)];
    n.ack_timer.reset();
    AckNode(n);
  });
}

void RouterCore::AckNode(Node& node) {
  CancelTimer(node.ack_timer);
  // Only what the journal holds: the worker forgets what it is told is safe.
  if (node.journaled_seq <= node.acked_seq || node.link == nullptr) return;
  node.acked_seq = node.journaled_seq;
  node.link->Send(protocol::FormatMessage("ack", json::object{{"seq", node.acked_seq}}));
}

void RouterCore::OnWorkerDisconnected(ConnId conn, std::string_view reason) {
  auto it = worker_conns_.find(conn);
  if (it == worker_conns_.end()) return;
  WorkerConnInfo info = std::move(it->second);
  worker_conns_.erase(it);
  if (info.swarm == nullptr) return;
  Swarm& swarm = *info.swarm;
  Node& node = swarm.nodes[static_cast<std::size_t>(info.node_id)];
  if (node.conn_id != conn) return;  // an older connection of this node
  CancelTimer(node.ack_timer);
  node.conn_id = 0;
  node.link = nullptr;
  const std::string why =
      info.bye_reason.empty() ? std::string(reason) : "worker exited: " + info.bye_reason;
  if (!info.bye_reason.empty()) node.gone_reason = why;  // it exits on purpose
  DisconnectNode(swarm, node, why);
  events_.Flush();
}

}  // namespace codeswarm::router
