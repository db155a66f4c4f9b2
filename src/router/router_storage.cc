// RouterCore: a state database that cannot be written (disk full, read-only). The router stays
// up and says so: launch and inject are refused with the reason, events are held (a client only
// ever sees journaled events; a worker is only acknowledged for them), reads still answer, and
// the held write is retried with backoff until it succeeds.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>

#include "router/router_core.h"

namespace codeswarm::router {
namespace json = boost::json;

std::string RouterCore::StorageFailureText() const {
  return "the router cannot write its state database (" +
         (storage_error_ ? storage_error_->message() : std::string("no error")) +
         "); free space on that disk or make it writable again: the router retries by itself "
         "and resumes";
}

bool RouterCore::RejectWhileStorageFails(ClientId client, const protocol::Command& command) {
  if (!StorageFailing()) return false;
  const std::string why = "refused while the state database cannot be written, since nothing it "
                          "changes would be kept: ";
  Reject(client, command, protocol::RejectCode::kStorageFailing, why + StorageFailureText());
  return true;
}

void RouterCore::OnStorageFailed(const Status& error) {
  const bool first = !StorageFailing();
  storage_error_ = error;
  if (!first) return;
  storage_failed_at_ = clock_.Now();
  storage_retry_delay_ = kStorageRetryFirst;
  // Loud and once: every retry that fails again is logged at debug only.
  spdlog::error("STORAGE FAILING: {}. Until it can be written: swarm_launch and inject are "
                "refused, events are held (not sent to clients, not acknowledged to workers), "
                "status, list and subscribe still answer, terminate and interrupt still act.",
                StorageFailureText());
  // Every client hears it now: events stop until the journal is written again.
  json::object notice{{"reason", StorageFailureText()}};
  for (const auto& [client, live_after] : live_after_) {
    events_.Reply(client, "storage_failing", notice);
  }
  ScheduleStorageRetry();
}

void RouterCore::ScheduleStorageRetry() {
  if (shut_down_ || storage_retry_timer_) return;
  storage_retry_timer_ = executor_.RunAfter(storage_retry_delay_, [this] {
    storage_retry_timer_.reset();
    RetryStorage();
  });
  storage_retry_delay_ = std::min(storage_retry_delay_ * 2, kStorageRetryMax);
}

void RouterCore::RetryStorage() {
  if (!StorageFailing()) return;
  // Swarm records first: they are what a restarted router starts from.
  const std::set<std::string> unsaved = unsaved_swarms_;
  for (const std::string& swarm_id : unsaved) {
    const Swarm* swarm = FindSwarm(swarm_id);
    if (swarm == nullptr) {
      unsaved_swarms_.erase(swarm_id);  // forgotten since (an abandoned launch)
    } else if (!Persist(*swarm).ok()) {
      break;
    }
  }
  Status journal = unsaved_swarms_.empty() ? events_.RetryJournal() : Status::Ok();
  if (!journal.ok()) storage_error_ = journal;
  if (unsaved_swarms_.empty() && journal.ok()) {
    OnStorageRecovered();
    return;
  }
  spdlog::debug("the state database still cannot be written: {}", storage_error_->message());
  if (shut_down_) {
    spdlog::error("shutting down with {} events never journaled (not sent to any client): the "
                  "workers still hold theirs and resend them to the next router; the router's "
                  "own among them are lost",
                  events_.pending_broadcasts());
    return;
  }
  ScheduleStorageRetry();
}

void RouterCore::OnStorageRecovered() {
  CancelTimer(storage_retry_timer_);
  const double seconds = ToSeconds(clock_.Now() - storage_failed_at_);
  storage_error_.reset();
  spdlog::warn("STORAGE RECOVERED: the state database is written again after {:.1f} s; held "
               "events are journaled and sent, commands are accepted again",
               seconds);
  for (const auto& [client, live_after] : live_after_) {
    events_.Reply(client, "storage_recovered", json::object{{"failed_seconds", seconds}});
  }
  // Connections whose events were left with their workers: a new connection makes the worker
  // resend everything the router has not acknowledged, in order.
  for (ConnId conn : refused_conns_) {
    auto it = worker_conns_.find(conn);
    if (it == worker_conns_.end()) continue;
    it->second.link->Close("the router's state database is writable again; reconnect to resend "
                           "the events it could not take");
  }
  // Closed connections stay refused until they are gone (lines may still arrive on them).
  std::erase_if(refused_conns_, [&](ConnId conn) { return worker_conns_.count(conn) == 0; });
}

bool RouterCore::TakesWorkerEvent(const Node& node) {
  if (refused_conns_.count(node.conn_id) != 0) return false;
  if (!events_.journal_failing() || events_.pending_bytes() < options_.storage_hold_bytes) {
    return true;
  }
  refused_conns_.insert(node.conn_id);
  spdlog::warn("node {} (connection {}): {} bytes of events are held while the state database "
               "cannot be written; the worker keeps its further events until it can",
               node.node_id, node.conn_id, events_.pending_bytes());
  return false;
}

}  // namespace codeswarm::router
