// The web port (docs/WEB_UI.md): a loopback HTTP server that serves the page compiled into the
// binary (http_assets.h) and, at /ws, a WebSocket that carries the client protocol unchanged:
// one v1 line per text frame, each connection one more client of the hub and the core, with the
// same commands, events, rejections and limits as a TCP client.
//
// What a browser needs on top of the TCP port's rule (only the router's own user,
// docs/SECURITY.md): every request's Host must be a loopback name (DNS rebinding), a WebSocket's
// Origin must be the page's own origin, every response carries a strict Content-Security-Policy
// and no CORS header.
//
// Only server.cc and the tests include this header; Beast stays in the http_*.cc files.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "router/client_session.h"

namespace codeswarm::router {

class RouterCore;

struct HttpLimits {
  // A WebSocket client's queue bound, write time limit and grace, as for a TCP client; its
  // max_line_bytes bounds one frame (a larger one closes the connection with code 1009).
  ClientLimits client;
  // A WebSocket that brings nothing for this long is pinged; one that then stays silent for as
  // long again is closed.
  Duration ping_interval = std::chrono::seconds(30);
  // An HTTP request (headers and body) must arrive within this time, and be at most this big.
  Duration request_timeout = std::chrono::seconds(30);
  std::size_t max_request_bytes = 64 << 10;
};

// Who may connect: nullopt to accept, or why the connection is refused (the same check as the
// TCP port's; tests inject their own).
using PeerCheck = std::function<std::optional<std::string>(boost::asio::ip::tcp::socket&)>;
// The id of the next client (shared with the TCP port's so ids stay unique).
using NextClientId = std::function<ClientId()>;

class HttpServer {
 public:
  // Listens on `endpoint` (port 0: any free port). Borrows `io`, `core`, `hub` and `clock`; they
  // must outlive the server and every connection it accepted.
  static Result<std::unique_ptr<HttpServer>> Listen(boost::asio::io_context& io,
                                                    const boost::asio::ip::tcp::endpoint& endpoint,
                                                    RouterCore& core, ClientHub& hub,
                                                    HttpLimits limits, const Clock& clock,
                                                    PeerCheck peer_check, NextClientId next_id);
  ~HttpServer();
  // Accepts connections until Stop.
  void Start();
  // Stops accepting. WebSocket clients are closed through the hub (ClientHub::CloseAll); HTTP
  // requests in flight finish.
  void Stop();
  unsigned short port() const;
  // Serves GET /metrics with what `metrics` returns (Prometheus text format). Unset: 404.
  void ServeMetrics(std::function<std::string()> metrics);
  struct State;  // defined in http_server.cc

 private:
  explicit HttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace codeswarm::router
