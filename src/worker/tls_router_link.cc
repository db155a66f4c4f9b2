#include "worker/tls_router_link.h"

#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/line_channel.h"

namespace codeswarm::worker {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A router that stops reading costs the connection, never memory: the outbox keeps every
// unacknowledged event and resends it on the next connection.
LineChannelOptions ChannelOptions() {
  return LineChannelOptions{.max_line_bytes = 64 << 20,
                            .queue_bytes = 64 << 20,
                            .write_timeout = std::chrono::seconds(30),
                            .peer_name = "router"};
}

class Link;

// One attempt: resolve, connect, handshake, then lines. Kept alive by its pending operations,
// so a connection that ended can still finish what it had under way without touching the next.
class Connection : public std::enable_shared_from_this<Connection>, public LineChannelHandler {
 public:
  Connection(asio::io_context& io, tls::ChannelTls& tls, Link& link)
      : link_(link),
        resolver_(io),
        channel_(TlsStream(io, tls.context()), ChannelOptions(), *this, SystemClock::Get()) {}

  void Begin(const std::string& host, const std::string& port);
  void Send(std::string lines) {
    if (started_) channel_.Send(std::move(lines));
  }
  // Ends the attempt or the connection; its end is reported as for any other.
  void Cancel() {
    resolver_.cancel();
    if (started_) {
      channel_.Abort("closed by this worker");
    } else {
      boost::system::error_code ignored;
      channel_.stream().lowest_layer().close(ignored);  // the pending step fails
    }
  }

 private:
  void Connected(const tcp::resolver::results_type& endpoints);
  void Handshake();
  void Failed(const std::string& reason);

  void OnLine(std::string_view line) override;
  void OnLineTooLong() override {
    spdlog::error("router sent a line over {} bytes; reconnecting",
                  channel_.options().max_line_bytes);
    channel_.Abort("line too long");
  }
  void OnPeerTooSlow(SlowPeer why) override {
    spdlog::warn("the router is not taking what this worker sends; reconnecting");
    channel_.Abort(why == SlowPeer::kQueueFull ? "the router is not reading"
                                                : "the router took nothing in time");
  }
  void OnClosed(const std::string& reason) override;

  Link& link_;
  tcp::resolver resolver_;
  TlsLineChannel channel_;
  std::string host_;
  std::string port_;
  bool started_ = false;  // handshake done, channel running
};

class Link : public TlsRouterLink {
 public:
  Link(asio::io_context& io, tls::ChannelTls& tls, std::string host, std::string port)
      : io_(io), tls_(tls), host_(std::move(host)), port_(std::move(port)) {}

  void Bind(WorkerCore* core) override { core_ = core; }

  void Connect() override {
    current_ = std::make_shared<Connection>(io_, tls_, *this);
    current_->Begin(host_, port_);
  }
  void Send(std::string lines) override {
    if (current_) current_->Send(std::move(lines));
  }
  void Disconnect() override {
    if (current_) current_->Cancel();
  }

  // From the current connection only: an ended one has nothing more to say.
  void Opened(const Connection* conn) {
    if (conn == current_.get()) core_->OnConnected();
  }
  void Line(const Connection* conn, std::string_view line) {
    if (conn == current_.get()) core_->OnLine(line);
  }
  void AttemptFailed(const Connection* conn, const std::string& reason) {
    if (conn != current_.get()) return;
    current_.reset();
    core_->OnConnectFailed(reason);
  }
  void Closed(const Connection* conn, const std::string& reason) {
    if (conn != current_.get()) return;
    current_.reset();
    core_->OnDisconnected(reason);
  }

 private:
  asio::io_context& io_;
  tls::ChannelTls& tls_;
  const std::string host_;
  const std::string port_;
  WorkerCore* core_ = nullptr;
  std::shared_ptr<Connection> current_;
};

void Connection::Begin(const std::string& host, const std::string& port) {
  host_ = host;
  port_ = port;
  resolver_.async_resolve(host, port, [self = shared_from_this()](
                                          const boost::system::error_code& ec,
                                          const tcp::resolver::results_type& endpoints) {
    if (ec) {
      self->Failed(ec == asio::error::operation_aborted
                       ? "connection attempt cancelled"
                       : "cannot resolve " + self->host_ + ": " + ec.message());
      return;
    }
    self->Connected(endpoints);
  });
}

void Connection::Connected(const tcp::resolver::results_type& endpoints) {
  asio::async_connect(channel_.stream().lowest_layer(), endpoints,
                      [self = shared_from_this()](const boost::system::error_code& ec,
                                                  const tcp::endpoint&) {
                        if (ec) {
                          self->Failed(ec.message());
                          return;
                        }
                        self->Handshake();
                      });
}

void Connection::Handshake() {
  tcp::socket& socket = channel_.stream().next_layer();
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  channel_.stream().async_handshake(
      asio::ssl::stream_base::client,
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec) {
          // Someone else may be listening on the router's address (a squatter while the router
          // restarts): nothing of theirs is taken, and the worker keeps trying the address.
          spdlog::warn("refusing the peer at {}:{}: {}", self->host_, self->port_,
                       tls::DescribeTlsError(ec));
          self->Failed(ec.message());
          return;
        }
        if (!tls::ChannelTls::UsedChannelKey(self->channel_.stream().native_handle())) {
          spdlog::warn("refusing the peer at {}:{}: it did not use this swarm's key", self->host_,
                       self->port_);
          self->Failed("handshake without the swarm key");
          return;
        }
        self->started_ = true;
        self->link_.Opened(self.get());
        self->channel_.Start(self->weak_from_this());
      });
}

void Connection::Failed(const std::string& reason) {
  boost::system::error_code ignored;
  channel_.stream().lowest_layer().close(ignored);
  link_.AttemptFailed(this, reason);
}

void Connection::OnLine(std::string_view line) { link_.Line(this, line); }

void Connection::OnClosed(const std::string& reason) { link_.Closed(this, reason); }

}  // namespace

std::unique_ptr<TlsRouterLink> TlsRouterLink::Make(asio::io_context& io, tls::ChannelTls& tls,
                                                   std::string host, std::string port) {
  return std::make_unique<Link>(io, tls, std::move(host), std::move(port));
}

}  // namespace codeswarm::worker
