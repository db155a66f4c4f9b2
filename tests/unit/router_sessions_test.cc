// The router's sessions on real loopback sockets, around a RouterCore with fakes: what a worker
// or client that stops reading is told, that finished worker sessions leave the server's set,
// and that session time comes from the injected clock. Every wait has a deadline.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "router/client_session.h"
#include "router/worker_session.h"
#include "unit/loopback_peer.h"
#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

class SessionTest : public RouterCoreTest {
 protected:
  // The router's end of a connection from the peer, both with small buffers.
  tcp::socket Accept() { return peer_.Connect(io_, /*small_buffers=*/true); }

  std::shared_ptr<WorkerSession> StartWorker(const WorkerLimits& limits, const Clock& clock) {
    if (!router_tls_) {
      auto tls = tls::ChannelTls::ForRouter([this](std::string_view id) -> std::optional<std::string> {
        const Swarm* swarm = core_->FindSwarm(std::string(id));
        if (swarm == nullptr) return std::nullopt;
        return tls::ChannelKey(swarm->secret);
      });
      EXPECT_TRUE(tls.ok());
      router_tls_ = std::move(*tls);
    }
    auto session = std::make_shared<WorkerSession>(Accept(), router_tls_->context(), 1, *core_,
                                                   sessions_, limits, clock);
    session->Start();
    return session;
  }

  // The worker proves the swarm's key, says hello as node 0 of `swarm` and gets its welcome.
  void Hello(const std::string& swarm) {
    ASSERT_TRUE(peer_.StartTls(io_, swarm, tls::ChannelKey(Secret(swarm))));
    peer_.Write("hello " +
                json::serialize(json::object{{"protocol", "codeswarm.worker.v2"},
                                             {"swarm_id", swarm},
                                             {"node_id", 0},
                                             {"instance", "inst-a"},
                                             {"pid", 42},
                                             {"hostname", "host"},
                                             {"holding", json::array{}}}) +
                "\n");
    ASSERT_TRUE(
        RunUntil([&] { return peer_.received().find("welcome ") != std::string::npos; }, true));
  }

  bool RunUntil(const std::function<bool()>& done, bool peer_reads = false) {
    return codeswarm::testing::RunUntil(io_, done, peer_reads ? &peer_ : nullptr);
  }

  std::string NodeDisconnectedReason() {
    json::object last = clients_.Last("node_disconnected");
    return last.empty() ? "" : std::string(last.at("data").at("reason").as_string());
  }

  asio::io_context io_;
  std::unique_ptr<tls::ChannelTls> router_tls_;  // before the sessions that use it
  WorkerSessions sessions_;
  codeswarm::testing::LoopbackPeer peer_;
};

TEST_F(SessionTest, FinishedWorkerSessionLeavesTheSetAndTheCoreHearsWhy) {
  std::string swarm = Launch(1);
  StartWorker(WorkerLimits{}, clock_);
  EXPECT_EQ(sessions_.size(), 1u);
  Hello(swarm);
  peer_.Close();
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
  EXPECT_TRUE(peer_.saw_eof());
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
  ASSERT_TRUE(RunUntil([&] { return sessions_.size() == 0 && peer_.saw_eof(); }, true));
}

TEST_F(SessionTest, WorkerThatTakesNothingWithinTheWriteTimeLimitIsDisconnected) {
  std::string swarm = Launch(1);
  WorkerLimits limits;
  limits.channel.write_timeout = 300ms;
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
  limits.channel.queue_bytes = 64 * 1024;
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
  limits.channel.write_timeout = 300ms;
  limits.slow_client_grace_seconds = 10;
  auto session =
      std::make_shared<ClientSession>(Accept(), 5, *core_, hub, limits, SystemClock::Get());
  hub.Add(session);
  hub.Join(session->id(), HeldLines::kSend);  // on the live stream, as after its first command
  session->Start();
  for (int i = 0; i < 64; ++i) hub.Broadcast(std::string(16 * 1024 - 1, 'e') + "\n");
  // Cut off: it leaves the hub at once, and gets the reason once it reads again.
  ASSERT_TRUE(RunUntil([&] { return hub.size() == 0; }));
  ASSERT_TRUE(RunUntil([&] { return peer_.saw_eof(); }, true));
  const std::string& got = peer_.received();
  ASSERT_GE(got.size(), 2u);
  std::string last_line = got.substr(got.rfind('\n', got.size() - 2) + 1);
  json::object closing = json::parse(last_line).as_object();
  EXPECT_EQ(closing.at("event"), "connection_closing");
  EXPECT_EQ(closing.at("data").at("reason"),
            "client too slow: it took none of the events waiting for it for 0.3 s, so it is "
            "disconnected and the events after the last one it read are not sent to it "
            "(reconnect and use swarm_status to catch up)");
  // Every line before it is whole.
  EXPECT_EQ(got.find_first_not_of("e\n"), got.size() - last_line.size());
}

}  // namespace
}  // namespace codeswarm::router::testing
