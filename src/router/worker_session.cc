#include "router/worker_session.h"

#include <spdlog/spdlog.h>

#include <cstdio>

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

WorkerSession::WorkerSession(tcp::socket socket, ConnId id, RouterCore& core,
                             WorkerSessions& sessions, const WorkerLimits& limits,
                             const Clock& clock)
    : id_(id),
      core_(core),
      sessions_(sessions),
      limits_(limits),
      clock_(clock),
      channel_(std::move(socket), limits.channel, *this, clock),
      started_(clock.Now()),
      last_heard_(started_),
      tick_timer_(channel_.stream().get_executor()) {}

WorkerSession::~WorkerSession() = default;

void WorkerSession::Start() {
  sessions_.Add(shared_from_this());
  core_.OnWorkerConnected(id_, this);
  channel_.Start(weak_from_this());
  Tick();
}

void WorkerSession::Send(std::string line) { channel_.Send(std::move(line)); }

void WorkerSession::Close(std::string_view reason) { channel_.Close(std::string(reason)); }

void WorkerSession::Abort() {
  aborted_ = true;
  channel_.Abort("router shutting down");
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
    channel_.Abort("no hello within the time limit");
    return;
  }
  if (now - last_heard_ > FromSeconds(limits_.timeout_seconds)) {
    channel_.Abort("no heartbeat from the worker for more than " +
                   std::to_string(static_cast<int>(limits_.timeout_seconds)) + " s");
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
