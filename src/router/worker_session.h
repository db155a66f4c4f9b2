// One connection from a worker: a TLS 1.3 handshake that proves the peer holds a swarm's key
// (common/channel_tls.h), then lines into the core and what the core sends, heartbeats, and
// closing connections that go silent. Nothing reaches the core before the handshake succeeds.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <memory>
#include <string>

#include "common/clock.h"
#include "router/channels.h"

namespace codeswarm::router {

class RouterCore;

struct WorkerLimits {
  std::size_t max_line_bytes = 64 << 20;
  std::size_t hello_line_bytes = 256 << 10;
  std::size_t queue_bytes = 64 << 20;
  double heartbeat_seconds = 5;
  double timeout_seconds = 20;
  double hello_timeout_seconds = 10;
};

class WorkerSession : public WorkerConnection,
                      public std::enable_shared_from_this<WorkerSession> {
 public:
  // `tls` must outlive the session.
  WorkerSession(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls, ConnId id,
                RouterCore& core, const WorkerLimits& limits);
  ~WorkerSession() override;
  void Start();
  // Closes without telling the core anything more (router shutdown).
  void Abort();

  void Send(std::string line) override;
  void Close(std::string_view reason) override;

 private:
  void Handshake();
  void ReadMore();
  void WriteMore();
  void Tick();
  void Finish(const std::string& reason);

  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
  std::string peer_;           // address, for log lines
  std::string proven_swarm_;   // set by the handshake
  bool handshake_done_ = false;
  const ConnId id_;
  RouterCore& core_;
  const WorkerLimits limits_;
  std::unique_ptr<class WorkerFramer> framer_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t in_flight_ = 0;
  bool closing_ = false;
  bool finished_ = false;
  bool aborted_ = false;
  bool saw_first_line_ = false;
  std::string close_reason_;
  SteadyTime last_heard_;
  SteadyTime started_;
  boost::asio::steady_timer tick_timer_;
};

}  // namespace codeswarm::router
