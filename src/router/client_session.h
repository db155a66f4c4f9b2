// Client connections: one ClientSession per TCP connection (reader coroutine, single writer with
// a bounded queue), and the ClientHub that fans events out to all of them. Broadcast lines are
// collected into one batch per loop turn and shared by every session (one allocation, written
// with gather I/O), so the cost of an event does not grow with the number of clients beyond a
// reference count.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "router/channels.h"

namespace codeswarm::router {

class RouterCore;
class ClientHub;

struct ClientLimits {
  std::size_t max_line_bytes = 1 << 20;
  std::size_t queue_bytes = 8 << 20;
  double slow_client_grace_seconds = 5;
};

// The connection_closing event line the router sends before it closes a connection itself.
std::string ClosingLine(const std::string& reason);

class ClientSession : public std::enable_shared_from_this<ClientSession> {
 public:
  ClientSession(boost::asio::ip::tcp::socket socket, ClientId id, RouterCore& core,
                ClientHub& hub, const ClientLimits& limits);
  ~ClientSession();
  void Start();
  // Queues bytes (complete lines). When the queue would pass its bound, the session drops what is
  // queued, queues a final connection_closing line and closes after the grace period.
  void Enqueue(std::shared_ptr<const std::string> bytes);
  // Sends a connection_closing line with `reason`, then closes.
  void CloseWithReason(const std::string& reason);
  ClientId id() const { return id_; }

 private:
  void ReadMore();
  void WriteMore();
  void Finish();

  boost::asio::ip::tcp::socket socket_;
  const ClientId id_;
  RouterCore& core_;
  ClientHub& hub_;
  const ClientLimits limits_;
  std::unique_ptr<class LineFramerHolder> framer_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t in_flight_ = 0;  // entries at the front of queue_ being written
  bool closing_ = false;
  bool finished_ = false;
  boost::asio::steady_timer close_timer_;
};

class ClientHub : public ClientChannel {
 public:
  explicit ClientHub(boost::asio::io_context& io);
  void Add(std::shared_ptr<ClientSession> session);
  void Remove(ClientId id);
  // Sends connection_closing to every client and closes them (router shutdown).
  void CloseAll(const std::string& reason);
  std::size_t size() const { return sessions_.size(); }

  void Broadcast(std::string line) override;
  void SendTo(ClientId client, std::string line) override;

 private:
  void Flush();
  template <typename Fn>
  void ForEachSession(Fn fn);

  boost::asio::io_context& io_;
  std::map<ClientId, std::shared_ptr<ClientSession>> sessions_;
  bool iterating_ = false;
  std::vector<ClientId> removed_while_iterating_;
  std::string batch_;
  bool flush_posted_ = false;
};

}  // namespace codeswarm::router
