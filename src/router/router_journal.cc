// RouterCore: the event journal — node marks after a restart, `subscribe` (replay, then live),
// retention.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <limits>

#include "router/router_core.h"

namespace codeswarm::router {
namespace json = boost::json;
using protocol::RejectCode;

Status RouterCore::LoadNodeMarks() {
  Result<std::vector<NodeMark>> marks = store_.LoadNodeMarks();
  if (!marks.ok()) return marks.status();
  for (const NodeMark& mark : *marks) {
    Swarm* swarm = MutableSwarm(mark.swarm_id);
    if (swarm == nullptr || mark.node_id < 0 || mark.node_id >= swarm->node_count) continue;
    // If this instance says hello, its welcome's ack_seq is what the journal holds: it resends
    // only the rest, and anything older it resends anyway is dropped.
    Node& node = swarm->nodes[static_cast<std::size_t>(mark.node_id)];
    node.journal_instance = mark.instance;
    node.last_seq = node.journaled_seq = node.acked_seq = mark.last_seq;
  }
  return Status::Ok();
}

void RouterCore::HandleSubscribe(ClientId client, const protocol::Command& command) {
  const auto& subscribe = std::get<protocol::SubscribePayload>(command.payload);
  if (!subscribe.swarm_id.empty() && FindSwarm(subscribe.swarm_id) == nullptr) {
    JoinLive(client, HeldLines::kSend);
    Reject(client, command, RejectCode::kUnknownSwarm,
           "no swarm " + subscribe.swarm_id + " (swarm_list shows the known ones)");
    return;
  }
  // Everything queued is journaled and sent first, so the replay can end where live begins.
  events_.Flush();
  const uint64_t head = events_.delivered_seq();
  // A client on the live stream got every event after `live_after` live: replay up to it only,
  // so no event reaches it twice. One not on it yet (a first subscribe) drops what was held for
  // it and gets all of it in the replay, then live: one stream in seq order.
  auto live = live_after_.find(client);
  const bool joined = !joining_.contains(client);
  const uint64_t replay_to =
      !joined || live == live_after_.end() ? head : std::min(head, live->second);
  const uint64_t since = subscribe.since_seq;

  Result<uint64_t> pruned = store_.JournalPrunedThrough();
  Result<std::vector<JournalRow>> page =
      store_.ReadJournal(since, replay_to, subscribe.swarm_id, kReplayPage);
  if (!pruned.ok() || !page.ok()) {
    const Status& error = !pruned.ok() ? pruned.status() : page.status();
    JoinLive(client, HeldLines::kSend);
    Reject(client, command, RejectCode::kBackendError,
           "cannot read the event journal: " + error.message());
    return;
  }
  JoinLive(client, HeldLines::kDrop);
  json::object answer;
  answer["request_id"] = command.request_id;
  answer["since_seq"] = since;
  answer["head_seq"] = head;
  answer["replay_to_seq"] = replay_to;
  if (!subscribe.swarm_id.empty()) answer["swarm_id"] = subscribe.swarm_id;
  // The answer and the replay go out now, ahead of the batch being journaled (if any): its
  // events are above replay_to and reach the client live, after the replay.
  events_.ReplyNow(client, "subscribed", answer);

  if (since < *pruned && since < replay_to) {
    // A hole, said out loud: what the client asked for but retention dropped.
    json::object marker;
    marker["request_id"] = command.request_id;
    marker["from_seq"] = since + 1;
    marker["to_seq"] = std::min(*pruned, replay_to);
    if (!subscribe.swarm_id.empty()) marker["swarm_id"] = subscribe.swarm_id;
    events_.ReplyNow(client, "events_pruned", marker);
  }
  uint64_t replayed = 0;
  std::string error;
  while (true) {
    for (JournalRow& row : *page) events_.SendNow(client, std::move(row.line));
    replayed += page->size();
    if (page->size() < kReplayPage) break;
    const uint64_t after = page->back().seq;
    page = store_.ReadJournal(after, replay_to, subscribe.swarm_id, kReplayPage);
    if (!page.ok()) {
      error = "cannot read the event journal after seq " + std::to_string(after) + ": " +
              page.status().message();
      spdlog::error("replay to client {}: {}", client, error);
      break;
    }
  }
  json::object done;
  done["request_id"] = command.request_id;
  done["to_seq"] = replay_to;
  done["events"] = replayed;
  if (!error.empty()) done["error"] = error;
  events_.ReplyNow(client, "replay_complete", done);
}

void RouterCore::SchedulePrune(Duration delay) {
  prune_timer_ = executor_.RunAfter(delay, [this] {
    prune_timer_.reset();
    PruneJournal();
    if (!shut_down_) SchedulePrune(kPruneInterval);
  });
}

void RouterCore::PruneJournal() {
  // A delete is a write too: it would fail as well, and the retry says when the disk is back.
  if (StorageFailing()) return;
  PrunePolicy policy;
  policy.older_than_ms =
      clock_.WallMillis() - static_cast<int64_t>(options_.journal_retention_seconds * 1000);
  policy.max_bytes = options_.journal_max_bytes;
  // Never the events of an unfinished turn of a live swarm (from its inject_ack on), nor
  // anything not yet handed to the clients.
  uint64_t keep_from = events_.delivered_seq() + 1;
  for (const auto& [id, swarm] : swarms_) {
    if (IsFinal(swarm->status)) continue;
    for (const Node& node : swarm->nodes) {
      for (const Delivery& d : node.deliveries) keep_from = std::min(keep_from, d.first_seq);
    }
  }
  if (keep_from == 0) keep_from = 1;  // a turn adopted after a restart: keep everything
  policy.keep_from_seq = keep_from;
  Result<uint64_t> pruned = store_.PruneJournal(policy);
  if (!pruned.ok()) {
    spdlog::error("cannot prune the event journal: {}", pruned.status().message());
  } else if (*pruned > 0) {
    spdlog::debug("event journal pruned through seq {}", *pruned);
  }
}

}  // namespace codeswarm::router
