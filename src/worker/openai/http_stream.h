// HTTP/1.1 POSTs whose answer is consumed as it streams, over http:// or https://, on
// Boost.Beast and Asio (with OpenSSL for TLS). The waiting is an io_context that another thread
// can wake at once (Wake), so an interrupt aborts a stream without waiting for the next byte or a
// timer tick. The connection is kept between requests to the same scheme, host and port (and
// made again once when the server closed a kept one meanwhile).
//
// HTTPS verifies the server's certificate chain against the CA certificates found at the first
// https request (ca_certificates.h) and its name against the URL's host (SNI sent); no proxy.
//
// The idle timeout and Sleep's delay are measured on the Clock given to Create; the connect
// timeout (name lookup, TCP connect and TLS handshake) is real time.
//
// Threading: one thread calls Post and Sleep; Wake may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace codeswarm::worker::openai {

class HttpStreamClient {
 public:
  struct Request {
    std::string url;
    // "Name: value" lines. They may carry secrets (Authorization): never logged.
    std::vector<std::string> headers;
    std::string body;
    double connect_timeout_seconds = 10;
    // The transfer is abandoned after this long without a byte (connecting included).
    double idle_timeout_seconds = 300;
  };

  struct Response {
    bool stopped = false;           // should_stop() became true: the transfer was abandoned
    bool body_rejected = false;     // on_body returned false: the transfer was abandoned
    bool transport_failed = false;  // the exchange failed below HTTP (connect, TLS, I/O, timeout)
    std::string transport_error;    // what went wrong, when transport_failed
    int status = 0;                 // the HTTP status, 0 when no answer arrived
    std::optional<std::string> retry_after;  // the answer's Retry-After header
  };

  // Called with the HTTP status and the next bytes of the answer body; returning false abandons
  // the transfer.
  using OnBody = std::function<bool(int status, std::string_view bytes)>;
  using ShouldStop = std::function<bool()>;

  // REQUIRES: `clock` outlives the client.
  static Result<std::unique_ptr<HttpStreamClient>> Create(const Clock& clock = SystemClock::Get());
  ~HttpStreamClient();
  HttpStreamClient(const HttpStreamClient&) = delete;
  HttpStreamClient& operator=(const HttpStreamClient&) = delete;

  // Performs `request`, checking `should_stop` whenever it wakes (at least once a second).
  Response Post(const Request& request, const OnBody& on_body, const ShouldStop& should_stop);
  // Waits `delay`; returns false when should_stop() cut it short.
  bool Sleep(std::chrono::milliseconds delay, const ShouldStop& should_stop);
  // Wakes a Post or Sleep in progress (or the next one) to check should_stop. Thread-safe.
  void Wake();

 private:
  struct Connection;
  HttpStreamClient(std::unique_ptr<Connection> connection, const Clock& clock);

  std::unique_ptr<Connection> connection_;
  const Clock& clock_;
};

}  // namespace codeswarm::worker::openai
