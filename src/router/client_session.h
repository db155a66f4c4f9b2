// Client connections: one ClientSession per TCP connection (a WebSocket connection of the web
// port is another kind of HubClient, http_ws_session.cc) (a LineChannel: framed reads, one
// writer with a bounded queue and a write time limit), and the ClientHub that fans events out
// to all of them. Broadcast lines are collected into one batch per loop turn and shared by
// every session (one allocation, written with gather I/O), so the cost of an event does not
// grow with the number of clients beyond a reference count.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/line_channel.h"
#include "router/channels.h"

namespace codeswarm::router {

class RouterCore;
class ClientHub;

struct ClientLimits {
  // The connection's line size limit, queue bound and write time limit.
  LineChannelOptions channel{.max_line_bytes = 1 << 20,
                             .queue_bytes = 8 << 20,
                             .write_timeout = std::chrono::seconds(30),
                             .peer_name = "client"};
  double slow_client_grace_seconds = 5;
};

// The connection_closing event line the router sends before it closes a connection itself.
std::string ClosingLine(const Clock& clock, const std::string& reason);

// One client connection as the hub sees it.
class HubClient {
 public:
  virtual ~HubClient() = default;
  virtual ClientId id() const = 0;
  // Queues bytes (complete lines). A client that lets them pile up past its queue bound, or
  // takes none of them within its write time limit, is closed with a reason.
  virtual void Enqueue(std::shared_ptr<const std::string> bytes) = 0;
  // Leaves the hub, drops what waits for the client, tells it `reason` (a connection_closing
  // line), then closes (after a grace period at the latest).
  virtual void CloseWithReason(const std::string& reason) = 0;
};

class ClientSession : public HubClient,
                      public LineChannelHandler,
                      public std::enable_shared_from_this<ClientSession> {
 public:
  // Borrows `core`, `hub` and `clock`; they must outlive the session.
  ClientSession(boost::asio::ip::tcp::socket socket, ClientId id, RouterCore& core, ClientHub& hub,
                const ClientLimits& limits, const Clock& clock);
  ~ClientSession() override;
  void Start();
  // Queues bytes (complete lines). A client that lets them pile up past the queue bound, or
  // takes none of them within the write time limit, is closed with a reason (CloseWithReason).
  void Enqueue(std::shared_ptr<const std::string> bytes) override;
  // Leaves the hub, drops what waits for the client, sends a connection_closing line with
  // `reason`, then closes (after the grace period at the latest).
  void CloseWithReason(const std::string& reason) override;
  ClientId id() const override { return id_; }

 private:
  void OnLine(std::string_view line) override;
  void OnLineTooLong() override;
  void OnPeerTooSlow(SlowPeer why) override;
  void OnClosed(const std::string& reason) override;

  const ClientId id_;
  RouterCore& core_;
  ClientHub& hub_;
  const ClientLimits limits_;
  const Clock& clock_;
  TcpLineChannel channel_;
};

class ClientHub : public ClientChannel {
 public:
  explicit ClientHub(boost::asio::io_context& io);
  void Add(std::shared_ptr<HubClient> session);
  void Remove(ClientId id);
  // Sends connection_closing to every client and closes them (router shutdown).
  void CloseAll(const std::string& reason);
  std::size_t size() const { return sessions_.size() + joining_.size(); }

  void Broadcast(std::string lines) override;
  void Join(ClientId client, HeldLines held) override;
  void SendTo(ClientId client, std::string line) override;

 private:
  std::shared_ptr<HubClient> Find(ClientId client) const;
  struct Joining {
    std::shared_ptr<HubClient> session;
    std::vector<std::shared_ptr<const std::string>> held;  // batches broadcast since it connected
  };
  void Flush();
  template <typename Fn>
  void ForEachSession(Fn fn);

  boost::asio::io_context& io_;
  // Sessions on the live stream (they get every broadcast) and those not yet joined.
  std::map<ClientId, std::shared_ptr<HubClient>> sessions_;
  std::map<ClientId, Joining> joining_;
  bool iterating_ = false;
  std::vector<ClientId> removed_while_iterating_;
  std::string batch_;
  std::size_t last_batch_bytes_ = 0;
  bool flush_posted_ = false;
};

}  // namespace codeswarm::router
