#include "router/worker_session.h"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "common/channel_tls.h"
#include "router/router_core.h"

namespace codeswarm::router {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr const char kPing[] = "ping {}\n";

std::string Seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

}  // namespace

WorkerSession::WorkerSession(tcp::socket socket, asio::ssl::context& tls, ConnId id,
                             RouterCore& core, WorkerSessions& sessions,
                             const WorkerLimits& limits, const Clock& clock)
    : id_(id),
      core_(core),
      sessions_(sessions),
      limits_(limits),
      clock_(clock),
      channel_(TlsStream(std::move(socket), tls), limits.channel, *this, clock),
      started_(clock.Now()),
      last_heard_(started_),
      tick_timer_(channel_.stream().get_executor()) {
  boost::system::error_code ec;
  tcp::endpoint remote = channel_.stream().lowest_layer().remote_endpoint(ec);
  peer_ = ec ? "an unknown address"
             : remote.address().to_string() + ":" + std::to_string(remote.port());
}

WorkerSession::~WorkerSession() = default;

void WorkerSession::Start() {
  sessions_.Add(shared_from_this());
  Tick();  // the hello time limit covers the handshake too
  tls::ChannelTls::RecordIdentity(channel_.stream().native_handle(), &proven_swarm_);
  channel_.stream().async_handshake(
      asio::ssl::stream_base::server,
      [self = shared_from_this()](const boost::system::error_code& ec) { self->OnHandshake(ec); });
}

void WorkerSession::OnHandshake(const boost::system::error_code& ec) {
  if (!channel_.is_open()) return;  // dropped meanwhile (time limit, shutdown)
  if (ec) {
    spdlog::warn("worker connection from {} refused: {}", peer_, tls::DescribeTlsError(ec));
    Drop("handshake failed");
    return;
  }
  if (!tls::ChannelTls::UsedChannelKey(channel_.stream().native_handle()) ||
      proven_swarm_.empty()) {
    spdlog::warn("worker connection from {} refused: handshake without a swarm key", peer_);
    Drop("handshake without a swarm key");
    return;
  }
  handshake_done_ = true;
  last_heard_ = clock_.Now();
  core_.OnWorkerConnected(id_, this, proven_swarm_);
  channel_.Start(weak_from_this());
}

void WorkerSession::Drop(const std::string& reason) {
  channel_.Abort(reason);
  if (handshake_done_) return;  // the channel calls OnClosed
  // A channel that never started closes without calling back, and the core never heard of it.
  tick_timer_.cancel();
  sessions_.Remove(id_);
}

void WorkerSession::Send(std::string line) { channel_.Send(std::move(line)); }

void WorkerSession::Close(std::string_view reason) { channel_.Close(std::string(reason)); }

void WorkerSession::Abort() {
  aborted_ = true;
  Drop("router shutting down");
}

void WorkerSession::OnLine(std::string_view line) {
  saw_first_line_ = true;
  core_.OnWorkerLine(id_, line);
}

void WorkerSession::OnLineTooLong() {
  channel_.Abort("line longer than " + std::to_string(limits_.channel.max_line_bytes) + " bytes");
}

void WorkerSession::OnReadBatchEnd() {
  last_heard_ = clock_.Now();
  // Before it has proven itself, a peer may not make the router buffer a long line.
  if (!saw_first_line_ && channel_.unframed_bytes() > limits_.hello_line_bytes) {
    channel_.Abort("hello line too long");
    return;
  }
  core_.OnWorkerBatchEnd(id_);
}

void WorkerSession::OnPeerTooSlow(SlowPeer why) {
  if (why == SlowPeer::kQueueFull) {
    channel_.Abort("worker is not reading (send queue full)");
  } else {
    channel_.Abort("worker took none of the bytes waiting for it for " +
                   Seconds(ToSeconds(limits_.channel.write_timeout)) + " s");
  }
}

void WorkerSession::OnClosed(const std::string& reason) {
  tick_timer_.cancel();
  sessions_.Remove(id_);
  if (!aborted_) core_.OnWorkerDisconnected(id_, reason);
}

void WorkerSession::Tick() {
  if (!channel_.is_open()) return;
  const SteadyTime now = clock_.Now();
  if (!saw_first_line_ && now - started_ > FromSeconds(limits_.hello_timeout_seconds)) {
    if (!handshake_done_) spdlog::warn("worker connection from {}: no handshake in time", peer_);
    Drop("no hello within the time limit");
    return;
  }
  if (now - last_heard_ > FromSeconds(limits_.timeout_seconds)) {
    channel_.Abort("no heartbeat from the worker for more than " +
                   Seconds(limits_.timeout_seconds) + " s");
    return;
  }
  if (saw_first_line_) Send(kPing);
  tick_timer_.expires_after(FromSeconds(limits_.heartbeat_seconds));
  tick_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->Tick();
  });
}

void WorkerSessions::Add(const std::shared_ptr<WorkerSession>& session) {
  sessions_[session->id()] = session;
}

void WorkerSessions::Remove(ConnId id) { sessions_.erase(id); }

void WorkerSessions::AbortAll() {
  // Abort tells the session's OnClosed from a fresh handler, so the map does not change here.
  for (auto& [id, weak] : sessions_) {
    if (std::shared_ptr<WorkerSession> session = weak.lock()) session->Abort();
  }
}

}  // namespace codeswarm::router
