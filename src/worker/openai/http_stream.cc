#include "worker/openai/http_stream.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <optional>

#include "common/text.h"
#include "worker/openai/ca_certificates.h"
#include "worker/openai/http_url.h"

namespace codeswarm::worker::openai {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kChunkBytes = 16 * 1024;

bool IsIpAddress(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string Printf(const char* format, double value) {
  char text[160];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// One request's progress, shared by the coroutine that performs it and the loop that drives it.
struct Exchange {
  Exchange(const HttpStreamClient::Request& request, const Url& url,
           const HttpStreamClient::OnBody& on_body, HttpStreamClient::Response& response,
           const Clock& clock)
      : request(request),
        url(url),
        on_body(on_body),
        response(response),
        clock(clock),
        last_data(clock.Now()) {}

  const HttpStreamClient::Request& request;
  const Url& url;
  const HttpStreamClient::OnBody& on_body;
  HttpStreamClient::Response& response;
  const Clock& clock;
  SteadyTime last_data;  // when the server last showed life (connect steps count)
  bool connecting = true;
  bool received = false;  // some byte of the answer arrived
  bool keep_alive = false;
  std::string error;  // the transport failure, empty when none
};

std::string ReadError(const error_code& ec) {
  if (ec == http::error::partial_message || ec == http::error::end_of_stream ||
      ec == asio::error::eof || ec == ssl::error::stream_truncated) {
    return "the server closed the connection";
  }
  return ec.message();
}

template <class Stream>
asio::awaitable<void> Send(Stream& stream, beast::flat_buffer& buffer, Exchange& x) {
  http::request<http::string_body> req{http::verb::post, x.url.target, 11};
  req.set(http::field::host, x.url.HostHeader());
  req.set(http::field::user_agent, "codeswarm/" CODESWARM_VERSION);
  for (const std::string& line : x.request.headers) {
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    req.insert(TrimWhitespace(std::string_view(line).substr(0, colon)),
               TrimWhitespace(std::string_view(line).substr(colon + 1)));
  }
  req.body() = x.request.body;
  req.prepare_payload();
  auto [write_error, written] = co_await http::async_write(stream, req, kNoThrow);
  if (write_error) {
    x.error = "sending the request failed: " + ReadError(write_error);
    co_return;
  }

  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);  // a stream is as long as the answer
  auto [header_error, header_bytes] =
      co_await http::async_read_header(stream, buffer, parser, kNoThrow);
  if (header_error) {
    x.error = ReadError(header_error);
    co_return;
  }
  x.received = true;
  x.last_data = x.clock.Now();
  x.response.status = static_cast<int>(parser.get().result_int());
  if (auto it = parser.get().find(http::field::retry_after); it != parser.get().end()) {
    x.response.retry_after = std::string(TrimWhitespace(it->value()));
  }
  char chunk[kChunkBytes];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    // read_some, not read: each piece goes on as soon as it arrives.
    auto [read_error, n] = co_await http::async_read_some(stream, buffer, parser, kNoThrow);
    if (read_error == http::error::need_buffer) read_error = {};
    if (read_error) {
      x.error = ReadError(read_error);
      co_return;
    }
    x.last_data = x.clock.Now();
    std::size_t got = sizeof chunk - parser.get().body().size;
    if (got > 0 && !x.on_body(x.response.status, std::string_view(chunk, got))) {
      x.response.body_rejected = true;
      co_return;
    }
  }
  x.keep_alive = parser.get().keep_alive();
}

}  // namespace

struct HttpStreamClient::Connection {
  asio::io_context io;
  // Run/RunOneFor wait for Wake even when nothing is in flight.
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  tcp::resolver resolver{io};
  std::unique_ptr<ssl::context> tls;  // made at each https connect: CA files may change
  std::string ca_used;                // where tls's CA certificates came from
  std::optional<tcp::socket> plain;
  std::optional<ssl::stream<tcp::socket>> secure;
  std::string open_to;  // Url::Key() of the kept connection, empty when none
  beast::flat_buffer buffer;

  tcp::socket* Socket() {
    if (secure) return &secure->next_layer();
    return plain ? &*plain : nullptr;
  }
  // Aborts whatever is in flight: every pending operation completes at once.
  void Close() {
    resolver.cancel();
    error_code ignored;
    if (tcp::socket* s = Socket()) s->close(ignored);
  }
  void Reset() {
    Close();
    plain.reset();
    secure.reset();
    open_to.clear();
    buffer.clear();
  }

  Status MakeTlsContext() {
    Result<CaCertificates> ca = FindCaCertificates();
    if (!ca.ok()) return ca.status();
    auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = context->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    context->set_verify_mode(ssl::verify_peer);
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(native, ca->file.empty() ? nullptr : ca->file.c_str(),
                                      ca->dir.empty() ? nullptr : ca->dir.c_str()) != 1) {
      char reason[256];
      ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
      return Status::IoError("cannot load the CA certificates from " + ca->Describe() + ": " +
                             reason);
    }
    tls = std::move(context);
    ca_used = ca->Describe();
    return Status::Ok();
  }

  asio::awaitable<void> Connect(Exchange& x) {
    const Url& url = x.url;
    auto [resolve_error, endpoints] = co_await resolver.async_resolve(url.host, url.port, kNoThrow);
    if (resolve_error) {
      x.error = "cannot resolve host " + url.host + ": " + resolve_error.message();
      co_return;
    }
    x.last_data = x.clock.Now();
    if (url.https) {
      secure.emplace(io, *tls);
    } else {
      plain.emplace(io);
    }
    auto [connect_error, endpoint] = co_await asio::async_connect(*Socket(), endpoints, kNoThrow);
    if (connect_error) {
      x.error = "connecting to " + url.Authority() + " failed: " + connect_error.message();
      co_return;
    }
    x.last_data = x.clock.Now();
    error_code ignored;
    Socket()->set_option(tcp::no_delay(true), ignored);
    Socket()->set_option(asio::socket_base::keep_alive(true), ignored);
    if (!url.https) co_return;

    SSL* native = secure->native_handle();
    if (IsIpAddress(url.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native), url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(native, url.host.c_str());
      SSL_set1_host(native, url.host.c_str());
    }
    auto [handshake_error] = co_await secure->async_handshake(ssl::stream_base::client, kNoThrow);
    if (handshake_error) {
      long verify = SSL_get_verify_result(native);
      std::string why = verify != X509_V_OK
                            ? std::string("the server's certificate is not accepted: ") +
                                  X509_verify_cert_error_string(verify) +
                                  " (CA certificates from " + ca_used + ")"
                            : ReadError(handshake_error);
      x.error = "TLS handshake with " + url.Authority() + " failed: " + why;
      co_return;
    }
    x.last_data = x.clock.Now();
  }

  asio::awaitable<void> Run(Exchange& x, bool reuse) {
    if (!reuse) {
      co_await Connect(x);
      if (!x.error.empty()) co_return;
    }
    x.connecting = false;
    if (secure) {
      co_await Send(*secure, buffer, x);
    } else {
      co_await Send(*plain, buffer, x);
    }
  }
};

Result<std::unique_ptr<HttpStreamClient>> HttpStreamClient::Create(const Clock& clock) {
  return std::unique_ptr<HttpStreamClient>(
      new HttpStreamClient(std::make_unique<Connection>(), clock));
}

HttpStreamClient::HttpStreamClient(std::unique_ptr<Connection> connection, const Clock& clock)
    : connection_(std::move(connection)), clock_(clock) {}

HttpStreamClient::~HttpStreamClient() = default;

void HttpStreamClient::Wake() {
  asio::post(connection_->io, [] {});
}

bool HttpStreamClient::Sleep(std::chrono::milliseconds delay, const ShouldStop& should_stop) {
  const SteadyTime deadline = clock_.Now() + delay;
  while (!should_stop()) {
    Duration left = deadline - clock_.Now();
    if (left <= Duration::zero()) return true;
    connection_->io.run_one_for(std::min<Duration>(left, std::chrono::seconds(1)));
  }
  return false;
}

HttpStreamClient::Response HttpStreamClient::Post(const Request& request, const OnBody& on_body,
                                                  const ShouldStop& should_stop) {
  Response response;
  Connection& c = *connection_;
  auto fail = [&](std::string why) {
    response.transport_failed = true;
    response.transport_error = std::move(why);
    return response;
  };
  Result<Url> url = ParseUrl(request.url);
  if (!url.ok()) return fail(url.status().message());
  const Duration idle_limit = FromSeconds(request.idle_timeout_seconds);
  const Duration connect_limit = FromSeconds(request.connect_timeout_seconds);

  // A kept connection the server has closed meanwhile fails before any answer: then once more
  // on a new one.
  for (int attempt = 0;; ++attempt) {
    const bool reuse =
        attempt == 0 && c.open_to == url->Key() && c.Socket() != nullptr && c.Socket()->is_open();
    if (!reuse) {
      c.Reset();
      if (url->https) {
        Status made = c.MakeTlsContext();
        if (!made.ok()) return fail(made.message());
      }
    }
    Exchange x(request, *url, on_body, response, clock_);
    bool finished = false;
    asio::co_spawn(c.io, c.Run(x, reuse), [&](std::exception_ptr e) {
      finished = true;
      if (e && x.error.empty()) x.error = "internal error in the HTTP client";
    });
    const auto connect_deadline = std::chrono::steady_clock::now() + connect_limit;
    std::string abandoned;  // why the loop below gave up on the exchange
    while (!finished) {
      if (should_stop()) {
        response.stopped = true;
        break;
      }
      Duration wait = x.last_data + idle_limit - clock_.Now();
      if (wait <= Duration::zero()) {
        abandoned = Printf("no data from the server for %g s", request.idle_timeout_seconds);
        break;
      }
      if (x.connecting) {
        Duration connect_left = connect_deadline - std::chrono::steady_clock::now();
        if (connect_left <= Duration::zero()) {
          abandoned = "connecting to " + url->Authority() +
                      Printf(" timed out after %g s", request.connect_timeout_seconds);
          break;
        }
        wait = std::min(wait, connect_left);
      }
      c.io.run_one_for(std::min<Duration>(wait, std::chrono::seconds(1)));
    }
    if (!finished) {
      c.Close();
      while (!finished) c.io.run_one();  // the coroutine refers to x: let it end first
    }
    if (!abandoned.empty()) x.error = abandoned;

    if (response.stopped || response.body_rejected) {
      c.Reset();
      return response;
    }
    if (x.error.empty()) {
      if (x.keep_alive) {
        c.open_to = url->Key();
      } else {
        c.Reset();
      }
      return response;
    }
    c.Reset();
    if (reuse && !x.received && abandoned.empty()) continue;
    return fail(x.error);
  }
}

}  // namespace codeswarm::worker::openai
