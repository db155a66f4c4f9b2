// A RouterCore behind a real HttpServer on a loopback port, its loop on a thread of its own,
// and blocking Beast clients for the tests. Every client call has a deadline: a watchdog shuts
// the client's socket down when a test overstays it, so a hang fails instead of blocking.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/asio_executor.h"
#include "router/client_session.h"
#include "router/http_server.h"
#include "router/router_core.h"
#include "router/store.h"
#include "unit/router_fakes.h"
#include "worker/agent_settings.h"

namespace codeswarm::router::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

// Shuts `fd` down after `deadline` unless disarmed first.
class Watchdog {
 public:
  Watchdog(int fd, std::chrono::milliseconds deadline)
      : thread_([this, fd, deadline] {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, deadline, [this] { return done_; })) {
            fired_ = true;
            ::shutdown(fd, SHUT_RDWR);
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
    EXPECT_FALSE(fired_) << "a client call overstayed its deadline";
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  // Starts the router on a loopback port with `limits` and `peer_check`.
  void StartServer(HttpLimits limits = {}, PeerCheck peer_check = nullptr) {
    RouterOptions options;
    options.backend = "fake";
    options.worker_address = "127.0.0.1:9";
    options.swarms_root = "/tmp/swarms";
    options.validate_agent = ValidateAgentSettings;
    core_ = std::make_unique<RouterCore>(options, executor_, hub_, *store_, provider_,
                                         SystemClock::Get());
    ASSERT_TRUE(core_->Start().ok());
    auto server = HttpServer::Listen(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0),
                                     *core_, hub_, limits, SystemClock::Get(),
                                     std::move(peer_check), [this] { return next_id_++; });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
    server_->Start();
    port_ = server_->port();
    loop_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (!loop_.joinable()) return;
    boost::asio::post(io_, [this] {
      server_->Stop();
      core_->Shutdown();
      hub_.CloseAll("test over");
    });
    work_.reset();  // the loop returns once every session has ended
    auto joined = std::async(std::launch::async, [this] { loop_.join(); });
    if (joined.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      ADD_FAILURE() << "the router's loop still had work 10 s after the test";
      io_.stop();
    }
    joined.wait();
    pool_.join();
  }

  std::string Host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Origin() const { return "http://" + Host(); }

  tcp::socket Connect() {
    tcp::socket socket(client_io_);
    socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_));
    return socket;
  }

  // One HTTP request with `host`; the response (status 0 when the connection broke).
  http::response<http::string_body> Get(const std::string& target, const std::string& host,
                                        std::function<void(http::request<http::empty_body>&)> edit = nullptr) {
    tcp::socket socket = Connect();
    Watchdog watchdog(socket.native_handle(), std::chrono::seconds(10));
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, host);
    if (edit) edit(request);
    boost::system::error_code ec;
    http::write(socket, request, ec);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response, ec);
    if (ec) response.result(0);
    return response;
  }

  // A WebSocket client that completed its handshake at /ws with the page's own origin.
  std::unique_ptr<websocket::stream<tcp::socket>> OpenWebSocket() {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(Connect());
    Watchdog watchdog(ws->next_layer().native_handle(), std::chrono::seconds(10));
    ws->set_option(websocket::stream_base::decorator([this](websocket::request_type& request) {
      request.set(http::field::origin, Origin());
    }));
    ws->handshake(Host(), "/ws");
    return ws;
  }

  static std::string Command(const std::string& name, const std::string& request_id) {
    return R"({"protocol":"codeswarm.router.v1","type":"command","command":")" + name +
           R"(","request_id":")" + request_id + R"(","payload":{}})";
  }

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  boost::asio::thread_pool pool_{1};
  AsioExecutor executor_{io_, pool_};
  ClientHub hub_{io_};
  std::unique_ptr<Store> store_ = NewMemoryStore();
  FakeProvider provider_;
  std::unique_ptr<RouterCore> core_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<ClientId> next_id_{1};
  unsigned short port_ = 0;
  std::thread loop_;
  boost::asio::io_context client_io_;
};

}  // namespace codeswarm::router::testing
