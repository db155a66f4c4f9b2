#include "router/http_server.h"

#include <fcntl.h>

#include <spdlog/spdlog.h>

#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "router/http_assets.h"
#include "router/http_policy.h"
#include "router/http_ws_session.h"

namespace codeswarm::router {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxHeaderBytes = 16 << 10;

// The answer to a connection refused at accept (another user's): plain HTTP, then close.
std::string RefusalResponse(const std::string& reason) {
  std::string body = reason + "\n";
  return "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
         "Connection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

struct HttpServer::State {
  State(asio::io_context& io, RouterCore& core, ClientHub& hub, HttpLimits limits,
        const Clock& clock, PeerCheck peer_check, NextClientId next_id)
      : io(io),
        acceptor(io),
        core(core),
        hub(hub),
        limits(std::move(limits)),
        clock(clock),
        peer_check(std::move(peer_check)),
        next_id(std::move(next_id)) {}

  void Accept();

  asio::io_context& io;
  tcp::acceptor acceptor;
  RouterCore& core;
  ClientHub& hub;
  const HttpLimits limits;
  const Clock& clock;
  const PeerCheck peer_check;
  const NextClientId next_id;
  std::function<std::string()> metrics;
  bool stopped = false;
};

namespace {

// One HTTP connection: requests in turn (keep-alive) until one upgrades to a WebSocket.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(tcp::socket socket, HttpServer::State& server)
      : stream_(std::move(socket)), server_(server) {}

  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(server_.limits.max_request_bytes);
    stream_.expires_after(server_.limits.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec,
                                                 std::size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(const boost::system::error_code& ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) return Close();
    if (ec) {
      return Respond(http::status::bad_request, "text/plain; charset=utf-8",
                     "bad request: " + ec.message() + "\n", false);
    }
    Handle(parser_->release());
  }

  void Handle(http::request<http::string_body> request) {
    const bool keep_alive = request.keep_alive();
    const std::string host(request[http::field::host]);
    if (std::string refusal = HostRefusal(host); !refusal.empty()) {
      spdlog::warn("web port: {}", refusal);
      return Respond(http::status::forbidden, "text/plain; charset=utf-8", refusal + "\n", false);
    }
    std::string_view target = request.target();
    std::string_view path = target.substr(0, target.find('?'));
    if (beast::websocket::is_upgrade(request)) {
      if (path != "/ws") {
        return Respond(http::status::not_found, "text/plain; charset=utf-8",
                       "WebSocket upgrades are taken at /ws only\n", false);
      }
      const std::string origin(request[http::field::origin]);
      if (!IsOwnOrigin(origin, host)) {
        std::string why = "WebSocket refused: Origin \"" + origin.substr(0, 200) +
                          "\" is not this page's own (http://" + host +
                          "); only the page the router serves may connect";
        spdlog::warn("web port: {}", why);
        return Respond(http::status::forbidden, "text/plain; charset=utf-8", why + "\n", false);
      }
      auto session = std::make_shared<WsSession>(std::move(stream_), server_.next_id(),
                                                 server_.core, server_.hub,
                                                 server_.limits, server_.clock);
      session->Accept(std::move(request));
      return;
    }
    if (path == "/ws") {
      return Respond(http::status::upgrade_required, "text/plain; charset=utf-8",
                     "this address takes WebSocket upgrades only (the client protocol, one line "
                     "per text frame)\n",
                     keep_alive);
    }
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      return Respond(http::status::method_not_allowed, "text/plain; charset=utf-8",
                     "only GET and HEAD are served here\n", keep_alive);
    }
    if (path == "/metrics" && server_.metrics) {
      return Respond(http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                     server_.metrics(), keep_alive, request.method() == http::verb::head);
    }
    if (const HttpAsset* asset = FindHttpAsset(path)) {
      return Respond(http::status::ok, asset->content_type, std::string(asset->body), keep_alive,
                     request.method() == http::verb::head);
    }
    Respond(http::status::not_found, "text/plain; charset=utf-8", "not found\n", keep_alive);
  }

  void Respond(http::status status, std::string_view type, std::string body, bool keep_alive,
               bool head_only = false) {
    auto response = std::make_shared<http::response<http::string_body>>(status, 11);
    response->set(http::field::server, "codeswarm/" CODESWARM_VERSION);
    response->set(http::field::content_type, type);
    response->set("Content-Security-Policy", kContentSecurityPolicy);
    response->set("X-Content-Type-Options", "nosniff");
    response->set("X-Frame-Options", "DENY");
    response->set("Referrer-Policy", "no-referrer");
    response->set("Cross-Origin-Opener-Policy", "same-origin");
    response->set("Cross-Origin-Resource-Policy", "same-origin");
    response->set(http::field::cache_control, "no-store");
    response->keep_alive(keep_alive);
    const std::size_t size = body.size();
    if (!head_only) response->body() = std::move(body);
    response->prepare_payload();
    if (head_only) response->content_length(size);
    stream_.expires_after(server_.limits.request_timeout);
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response, keep_alive](
                          const boost::system::error_code& ec, std::size_t) {
                        if (ec || !keep_alive) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer::State& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void HttpServer::State::Accept() {
  acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (stopped) return;
    if (ec) {
      spdlog::warn("accepting a web client failed: {}", ec.message());
    } else if (std::optional<std::string> refusal = peer_check ? peer_check(socket) : std::nullopt) {
      spdlog::warn("web port: {}", *refusal);
      boost::system::error_code ignored;
      asio::write(socket, asio::buffer(RefusalResponse(*refusal)), ignored);  // fits the buffer
      socket.close(ignored);
    } else {
      ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<HttpConnection>(std::move(socket), *this)->Read();
    }
    Accept();
  });
}

Result<std::unique_ptr<HttpServer>> HttpServer::Listen(asio::io_context& io,
                                                       const tcp::endpoint& endpoint,
                                                       RouterCore& core, ClientHub& hub,
                                                       HttpLimits limits, const Clock& clock,
                                                       PeerCheck peer_check, NextClientId next_id) {
  auto state = std::make_unique<State>(io, core, hub, std::move(limits), clock,
                                       std::move(peer_check), std::move(next_id));
  boost::system::error_code ec;
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::string address = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    std::string hint = ec == asio::error::address_in_use
                           ? " (another router's web port? set router.http_port to another "
                             "port, or 0 to turn the web UI off)"
                           : "";
    return Status::IoError("cannot listen for the web UI on " + address + ": " + ec.message() +
                           hint);
  }
  ::fcntl(state->acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

HttpServer::HttpServer(std::unique_ptr<State> state) : state_(std::move(state)) {}
HttpServer::~HttpServer() = default;

void HttpServer::Start() { state_->Accept(); }

void HttpServer::Stop() {
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
}

void HttpServer::ServeMetrics(std::function<std::string()> metrics) {
  state_->metrics = std::move(metrics);
}

unsigned short HttpServer::port() const {
  boost::system::error_code ec;
  return state_->acceptor.local_endpoint(ec).port();
}

}  // namespace codeswarm::router
