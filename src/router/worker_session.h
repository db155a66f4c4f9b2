// One connection from a worker: a TLS 1.3 handshake that proves the peer holds a swarm's key
// (common/channel_tls.h), then lines into the core and what the core sends (a LineChannel:
// framed reads, one writer with a bounded queue and a write time limit), heartbeats, and closing
// connections that go silent. Nothing reaches the core before the handshake succeeded.
// WorkerSessions keeps the live ones.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/line_channel.h"
#include "router/channels.h"

namespace codeswarm::router {

class RouterCore;
class WorkerSessions;

struct WorkerLimits {
  // The connection's line size limit, queue bound and write time limit.
  LineChannelOptions channel{.max_line_bytes = 64 << 20,
                             .queue_bytes = 64 << 20,
                             .write_timeout = std::chrono::seconds(30),
                             .peer_name = "worker"};
  std::size_t hello_line_bytes = 256 << 10;
  double heartbeat_seconds = 5;
  double timeout_seconds = 20;
  double hello_timeout_seconds = 10;
};

class WorkerSession : public WorkerConnection,
                      public LineChannelHandler,
                      public std::enable_shared_from_this<WorkerSession> {
 public:
  // Borrows `tls`, `core`, `sessions` and `clock`; they must outlive the session.
  WorkerSession(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls, ConnId id,
                RouterCore& core, WorkerSessions& sessions, const WorkerLimits& limits,
                const Clock& clock);
  ~WorkerSession() override;
  // Joins `sessions` and runs the handshake; once it succeeded, tells the core and starts
  // reading and the heartbeat.
  void Start();
  // Closes without telling the core anything more (router shutdown).
  void Abort();
  ConnId id() const { return id_; }
  // Names the peer in log lines instead of the socket's address (a connection through the
  // relay). REQUIRES: before Start().
  void set_peer(std::string peer) { peer_ = std::move(peer); }

  void Send(std::string line) override;
  void Close(std::string_view reason) override;

 private:
  void OnLine(std::string_view line) override;
  void OnLineTooLong() override;
  void OnReadBatchEnd() override;
  void OnPeerTooSlow(SlowPeer why) override;
  void OnClosed(const std::string& reason) override;
  void Tick();
  void OnHandshake(const boost::system::error_code& ec);
  // Closes: through the channel once it runs, else here (the core never heard of it).
  void Drop(const std::string& reason);

  const ConnId id_;
  RouterCore& core_;
  WorkerSessions& sessions_;
  const WorkerLimits limits_;
  const Clock& clock_;
  TlsLineChannel channel_;
  std::string peer_;           // address, for log lines
  std::string proven_swarm_;   // whose key the handshake proved
  bool handshake_done_ = false;
  bool aborted_ = false;
  bool saw_first_line_ = false;
  SteadyTime started_;
  SteadyTime last_heard_;
  boost::asio::steady_timer tick_timer_;
};

// The live worker sessions, so that a router shutdown can abort them. A session joins when it
// starts and leaves when its connection has closed, so this holds only live ones.
class WorkerSessions {
 public:
  void Add(const std::shared_ptr<WorkerSession>& session);
  void Remove(ConnId id);
  // Aborts every session: the core hears nothing more from them.
  void AbortAll();
  std::size_t size() const { return sessions_.size(); }

 private:
  // Weak: a session lives as long as its pending operations, not longer because it is listed.
  std::map<ConnId, std::weak_ptr<WorkerSession>> sessions_;
};

}  // namespace codeswarm::router
