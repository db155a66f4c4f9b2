#include "router/client_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>

#include "common/clock.h"
#include "protocol/event_line.h"
#include "router/router_core.h"

namespace codeswarm::router {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string ClosingLine(const Clock& clock, const std::string& reason) {
  std::string line;
  TimestampFormatter ts;
  protocol::AppendEventLine(line, std::nullopt, ts.Format(clock.WallMillis()),
                            "connection_closing",
                            boost::json::serialize(boost::json::object{{"reason", reason}}));
  return line;
}

namespace {

// What a cut-off client is told; it may reconnect and catch up.
constexpr const char kCatchUp[] =
    ", so it is disconnected and the events after the last one it read are not sent to it "
    "(reconnect and use swarm_status to catch up)";

}  // namespace

ClientSession::ClientSession(tcp::socket socket, ClientId id, RouterCore& core, ClientHub& hub,
                             const ClientLimits& limits, const Clock& clock)
    : id_(id),
      core_(core),
      hub_(hub),
      limits_(limits),
      clock_(clock),
      channel_(std::move(socket), limits.channel, *this, clock) {}

ClientSession::~ClientSession() = default;

void ClientSession::Start() { channel_.Start(weak_from_this()); }

void ClientSession::Enqueue(std::shared_ptr<const std::string> bytes) {
  spdlog::trace("client {}: queued {} bytes ({} waiting)", id_, bytes->size(),
                channel_.queued_bytes());
  channel_.Send(std::move(bytes));
}

void ClientSession::CloseWithReason(const std::string& reason) {
  if (!channel_.is_open()) return;
  hub_.Remove(id_);
  channel_.CloseWith(ClosingLine(clock_, reason), reason,
                     FromSeconds(limits_.slow_client_grace_seconds));
}

void ClientSession::OnLine(std::string_view line) { core_.OnClientLine(id_, line); }

void ClientSession::OnLineTooLong() {
  core_.OnClientLineTooLong(id_, limits_.channel.max_line_bytes);
}

void ClientSession::OnPeerTooSlow(SlowPeer why) {
  if (why == SlowPeer::kQueueFull) {
    spdlog::warn("client {} is not reading: {} bytes queued; disconnecting it", id_,
                 channel_.queued_bytes());
    CloseWithReason("client too slow: more than " + std::to_string(limits_.channel.queue_bytes) +
                    " bytes of events were waiting for it" + kCatchUp);
  } else {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", ToSeconds(limits_.channel.write_timeout));
    spdlog::warn("client {} took nothing for {} s: {} bytes queued; disconnecting it", id_,
                 seconds, channel_.queued_bytes());
    CloseWithReason("client too slow: it took none of the events waiting for it for " +
                    std::string(seconds) + " s" + kCatchUp);
  }
}

void ClientSession::OnClosed(const std::string& reason) {
  spdlog::debug("client {} closed: {}", id_, reason);
  hub_.Remove(id_);
  core_.OnClientClosed(id_);
}

ClientHub::ClientHub(asio::io_context& io) : io_(io) {}

void ClientHub::Add(std::shared_ptr<HubClient> session) {
  Flush();  // a new client starts with the events after it connected
  const ClientId id = session->id();
  joining_[id] = Joining{std::move(session), {}};
}

void ClientHub::Join(ClientId client, HeldLines held) {
  auto it = joining_.find(client);
  if (it == joining_.end()) return;
  Flush();
  Joining joining = std::move(it->second);
  joining_.erase(it);
  if (held == HeldLines::kSend) {
    for (auto& batch : joining.held) joining.session->Enqueue(std::move(batch));
  }
  sessions_[client] = std::move(joining.session);
}

std::shared_ptr<HubClient> ClientHub::Find(ClientId client) const {
  if (auto it = sessions_.find(client); it != sessions_.end()) return it->second;
  if (auto it = joining_.find(client); it != joining_.end()) return it->second.session;
  return nullptr;
}

void ClientHub::Remove(ClientId id) {
  joining_.erase(id);
  if (iterating_) {
    removed_while_iterating_.push_back(id);
  } else {
    sessions_.erase(id);
  }
}

template <typename Fn>
void ClientHub::ForEachSession(Fn fn) {
  // Sessions may remove themselves (a slow client) while we walk the map.
  iterating_ = true;
  for (auto& [id, session] : sessions_) fn(*session);
  iterating_ = false;
  for (ClientId id : removed_while_iterating_) sessions_.erase(id);
  removed_while_iterating_.clear();
}

void ClientHub::CloseAll(const std::string& reason) {
  Flush();
  // Closing removes a session from its map: walk a copy of the ones not joined yet.
  std::vector<std::shared_ptr<HubClient>> joining;
  for (auto& [id, j] : joining_) joining.push_back(j.session);
  for (auto& session : joining) session->CloseWithReason(reason);
  ForEachSession([&](HubClient& session) { session.CloseWithReason(reason); });
}

void ClientHub::Broadcast(std::string lines) {
  if (sessions_.empty() && joining_.empty()) return;
  if (batch_.empty() && lines.size() >= last_batch_bytes_ / 2) {
    batch_ = std::move(lines);  // the emitter's batch of a loop turn: taken as it is
  } else {
    // Many small broadcasts: room for as much as the last batch, so it is not copied again at
    // every doubling.
    if (batch_.empty()) batch_.reserve(std::max(last_batch_bytes_, lines.size()));
    batch_ += lines;
  }
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(io_, [this] {
      flush_posted_ = false;
      Flush();
    });
  }
}

void ClientHub::SendTo(ClientId client, std::string line) {
  Flush();  // keep its order after everything broadcast before it
  std::shared_ptr<HubClient> session = Find(client);
  if (session) session->Enqueue(std::make_shared<const std::string>(std::move(line)));
}

void ClientHub::Flush() {
  if (batch_.empty()) return;
  last_batch_bytes_ = batch_.size();
  auto shared = std::make_shared<const std::string>(std::move(batch_));
  batch_ = std::string();
  spdlog::trace("flushing {} bytes to {} clients", shared->size(), sessions_.size());
  ForEachSession([&](HubClient& session) { session.Enqueue(shared); });
  for (auto& [id, joining] : joining_) joining.held.push_back(shared);
}

}  // namespace codeswarm::router
