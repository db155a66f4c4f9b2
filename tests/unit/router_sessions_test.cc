// The router's sessions on real loopback sockets, around a RouterCore with fakes: what a worker
// or client that stops reading is told, that finished worker sessions leave the server's set,
// and that session time comes from the injected clock. Every wait has a deadline.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "router/client_session.h"
#include "router/worker_session.h"
#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

class SessionTest : public RouterCoreTest {
 protected:
  ~SessionTest() override {
    if (peer_ >= 0) ::close(peer_);
  }

  // Connects the peer (a non-blocking socket with a small receive buffer) and returns the
  // router's end, with a small send buffer, so a peer that does not read stalls writes soon.
  tcp::socket Accept() {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    peer_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(peer_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(acceptor.local_endpoint().port());
    EXPECT_EQ(::connect(peer_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::fcntl(peer_, F_SETFL, O_NONBLOCK);
    tcp::socket socket = acceptor.accept();
    socket.set_option(asio::socket_base::send_buffer_size(small));
    return socket;
  }

  std::shared_ptr<WorkerSession> StartWorker(const WorkerLimits& limits, const Clock& clock) {
    auto session = std::make_shared<WorkerSession>(Accept(), 1, *core_, sessions_, limits, clock);
    session->Start();
    return session;
  }

  // The worker says hello as node 0 of `swarm` and gets its welcome.
  void Hello(const std::string& swarm) {
    std::string hello = "hello " + json::serialize(json::object{{"protocol", "codeswarm.worker.v1"},
                                                                {"swarm_id", swarm},
                                                                {"node_id", 0},
                                                                {"secret", Secret(swarm)},
                                                                {"instance", "inst-a"},
                                                                {"pid", 42},
                                                                {"hostname", "host"},
                                                                {"holding", json::array{}}}) +
                        "\n";
    ASSERT_EQ(::send(peer_, hello.data(), hello.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(hello.size()));
    ASSERT_TRUE(RunUntil([&] { return received_.find("welcome ") != std::string::npos; }, true));
  }

  bool RunUntil(const std::function<bool()>& done, bool peer_reads = false) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_one_for(5ms);
      if (peer_reads) PeerRead();
    }
    return true;
  }

  void PeerRead() {
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(peer_, buf, sizeof buf, 0)) > 0) {
      received_.append(buf, static_cast<std::size_t>(n));
    }
    if (n == 0) peer_saw_eof_ = true;
  }

  std::string NodeDisconnectedReason() {
    json::object last = clients_.Last("node_disconnected");
    return last.empty() ? "" : std::string(last.at("data").at("reason").as_string());
  }

  asio::io_context io_;
  WorkerSessions sessions_;
  int peer_ = -1;
  std::string received_;
  bool peer_saw_eof_ = false;
};

TEST_F(SessionTest, FinishedWorkerSessionLeavesTheSetAndTheCoreHearsWhy) {
  std::string swarm = Launch(1);
  StartWorker(WorkerLimits{}, clock_);
  EXPECT_EQ(sessions_.size(), 1u);
  Hello(swarm);
  ::close(peer_);
  peer_ = -1;
  ASSERT_TRUE(RunUntil([&] { return sessions_.size() == 0; }));
  ASSERT_TRUE(RunUntil([&] { return !NodeDisconnectedReason().empty(); }));
  EXPECT_EQ(NodeDisconnectedReason(), "connection closed by the worker");
}

TEST_F(SessionTest, AbortedWorkerSessionsLeaveTheSetAndTellTheCoreNothing) {
  std::string swarm = Launch(1);
  std::weak_ptr<WorkerSession> session = StartWorker(WorkerLimits{}, clock_);
  Hello(swarm);
  sessions_.AbortAll();
  ASSERT_TRUE(RunUntil([&] { return sessions_.size() == 0 && session.expired(); }, true));
  EXPECT_TRUE(peer_saw_eof_);
  EXPECT_TRUE(clients_.Events("node_disconnected").empty());
}

TEST_F(SessionTest, WorkerWithoutHelloIsClosedOnceTheInjectedClockPassesTheLimit) {
  WorkerLimits limits;
  limits.hello_timeout_seconds = 10;
  limits.heartbeat_seconds = 0.01;  // the session looks at the clock this often
  StartWorker(limits, clock_);
  io_.run_for(50ms);  // it ticks, but the clock has not moved
  EXPECT_EQ(sessions_.size(), 1u);
  clock_.Advance(11s);
  ASSERT_TRUE(RunUntil([&] { return sessions_.size() == 0 && peer_saw_eof_; }, true));
}

TEST_F(SessionTest, WorkerThatTakesNothingWithinTheWriteTimeLimitIsDisconnected) {
  std::string swarm = Launch(1);
  WorkerLimits limits;
  limits.write_timeout_seconds = 0.3;
  std::shared_ptr<WorkerSession> session = StartWorker(limits, SystemClock::Get());
  Hello(swarm);
  // More than the kernel buffers of both ends hold; the peer reads none of it.
  for (int i = 0; i < 64; ++i) session->Send(std::string(16 * 1024 - 1, 'x') + "\n");
  ASSERT_TRUE(RunUntil([&] { return !NodeDisconnectedReason().empty(); }));
  EXPECT_EQ(NodeDisconnectedReason(), "worker took none of the bytes waiting for it for 0.3 s");
  EXPECT_EQ(sessions_.size(), 0u);
}

TEST_F(SessionTest, WorkerWhoseQueueOverflowsIsDisconnected) {
  std::string swarm = Launch(1);
  WorkerLimits limits;
  limits.queue_bytes = 64 * 1024;
  std::shared_ptr<WorkerSession> session = StartWorker(limits, SystemClock::Get());
  Hello(swarm);
  for (int i = 0; i < 1000 && NodeDisconnectedReason().empty(); ++i) {
    session->Send(std::string(16 * 1024 - 1, 'x') + "\n");
    io_.poll();
  }
  ASSERT_TRUE(RunUntil([&] { return !NodeDisconnectedReason().empty(); }));
  EXPECT_EQ(NodeDisconnectedReason(), "worker is not reading (send queue full)");
}

TEST_F(SessionTest, ClientThatTakesNothingWithinTheWriteTimeLimitIsToldWhyAndClosed) {
  ClientHub hub(io_);
  ClientLimits limits;
  limits.write_timeout_seconds = 0.3;
  limits.slow_client_grace_seconds = 10;
  auto session = std::make_shared<ClientSession>(Accept(), 5, *core_, hub, limits,
                                                 SystemClock::Get());
  hub.Add(session);
  session->Start();
  for (int i = 0; i < 64; ++i) hub.Broadcast(std::string(16 * 1024 - 1, 'e') + "\n");
  // Cut off: it leaves the hub at once, and gets the reason once it reads again.
  ASSERT_TRUE(RunUntil([&] { return hub.size() == 0; }));
  ASSERT_TRUE(RunUntil([&] { return peer_saw_eof_; }, true));
  ASSERT_GE(received_.size(), 2u);
  std::string last_line = received_.substr(received_.rfind('\n', received_.size() - 2) + 1);
  json::object closing = json::parse(last_line).as_object();
  EXPECT_EQ(closing.at("event"), "connection_closing");
  EXPECT_EQ(closing.at("data").at("reason"),
            "client too slow: it took none of the events waiting for it for 0.3 s, so it is "
            "disconnected and the events after the last one it read are not sent to it "
            "(reconnect and use swarm_status to catch up)");
  // Every line before it is whole.
  EXPECT_EQ(received_.find_first_not_of("e\n"), received_.size() - last_line.size());
}

}  // namespace
}  // namespace codeswarm::router::testing
