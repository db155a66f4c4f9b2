// MuxBridge (relay/mux_bridge.h) with real descriptors: two bridges, "relay" and "router",
// joined by a socketpair as the mux stream (what ssh's stdio is in production), and a
// socketpair per worker connection on each side.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <map>

#include "relay/mux_bridge.h"

namespace codeswarm::relay {
namespace {

using namespace std::chrono_literals;

std::pair<int, int> SocketPair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  return {fds[0], fds[1]};
}

// What arrived on a non-blocking `fd`; sets *eof when the other end closed.
std::string ReadAvailable(int fd, bool* eof = nullptr) {
  std::string got;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      got.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0 && eof != nullptr) *eof = true;
    return got;
  }
}

// Writes as much of `bytes` as `fd` takes now; returns how much.
std::size_t WriteSome(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

class RecordingHandler : public MuxBridgeHandler {
 public:
  std::optional<int> OnOpen(ChannelId id, std::string_view peer) override {
    if (refuse) return std::nullopt;
    auto [outer, inner] = SocketPair();
    opened[id] = outer;
    peers[id] = std::string(peer);
    return inner;
  }
  void OnHello(const HelloInfo& hello) override { this->hello = hello; }
  void OnChannelClosed(ChannelId id, const std::string&, const std::string& reason) override {
    closed[id] = reason;
  }
  void OnEnded(const std::string& reason) override { ended = reason; }

  bool refuse = false;
  std::map<ChannelId, int> opened;  // router side: the worker session's end
  std::map<ChannelId, std::string> peers;
  std::map<ChannelId, std::string> closed;
  std::optional<HelloInfo> hello;
  std::optional<std::string> ended;
};

class RelayMuxBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override { Connect({}); }

  void Connect(MuxBridgeOptions relay_options, MuxBridgeOptions router_options = {}) {
    auto [relay_end, router_end] = SocketPair();
    relay_ = MuxBridge::Create(io_, relay_end, relay_end, relay_options, relay_handler_);
    router_ = MuxBridge::Create(io_, router_end, router_end, router_options, router_handler_);
    relay_->Start();
    router_->Start();
    router_mux_fd_ = router_end;
  }

  void TearDown() override {
    relay_->Shutdown();
    router_->Shutdown();
  }

  // Runs the loop until `done` or 5 s; returns done().
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_one_for(10ms);
    }
    return true;
  }

  // A worker connects to the relay: returns the worker's end and the router's end.
  std::pair<int, int> ConnectWorker(const std::string& peer = "10.0.0.5:41234") {
    auto [worker, inner] = SocketPair();
    ChannelId id = relay_->Open(inner, peer);
    EXPECT_TRUE(RunUntil([&] { return router_handler_.opened.contains(id); }));
    return {worker, router_handler_.opened[id]};
  }

  boost::asio::io_context io_;
  RecordingHandler relay_handler_;
  RecordingHandler router_handler_;
  std::shared_ptr<MuxBridge> relay_;
  std::shared_ptr<MuxBridge> router_;
  int router_mux_fd_ = -1;
};

TEST_F(RelayMuxBridgeTest, HelloAndBytesCrossBothWaysAndACloseReachesTheOtherEnd) {
  relay_->SendHello({"login1", 4444});
  ASSERT_TRUE(RunUntil([&] { return router_handler_.hello.has_value(); }));
  EXPECT_EQ(router_handler_.hello->port, 4444);

  auto [worker, session] = ConnectWorker();
  EXPECT_EQ(router_handler_.peers.begin()->second, "10.0.0.5:41234");
  ASSERT_EQ(WriteSome(worker, "client hello"), 12u);
  std::string at_router;
  ASSERT_TRUE(RunUntil([&] { return (at_router += ReadAvailable(session)) == "client hello"; }));
  ASSERT_EQ(WriteSome(session, "server hello"), 12u);
  std::string at_worker;
  ASSERT_TRUE(RunUntil([&] { return (at_worker += ReadAvailable(worker)) == "server hello"; }));

  ::close(worker);  // the worker goes away: the router's end sees EOF
  bool eof = false;
  ASSERT_TRUE(RunUntil([&] { ReadAvailable(session, &eof); return eof; }));
  ::close(session);
  EXPECT_EQ(relay_->channel_count(), 0u);
  EXPECT_TRUE(RunUntil([&] { return router_->channel_count() == 0; }));
}

TEST_F(RelayMuxBridgeTest, RouterClosingAChannelClosesTheWorkersConnectionAfterItsLastBytes) {
  auto [worker, session] = ConnectWorker();
  const std::string last(200000, 'z');  // more than one frame
  std::size_t written = 0;
  ASSERT_TRUE(RunUntil([&] { written += WriteSome(session, last.substr(written)); return written == last.size(); }));
  ::close(session);
  std::string got;
  bool eof = false;
  ASSERT_TRUE(RunUntil([&] { got += ReadAvailable(worker, &eof); return eof; }));
  EXPECT_EQ(got, last);
  ::close(worker);
}

TEST_F(RelayMuxBridgeTest, SlowWorkerHoldsBackOnlyItsOwnChannel) {
  TearDown();
  MuxBridgeOptions small;
  small.window_bytes = 64 << 10;
  small.mux_queue_bytes = 256 << 10;
  relay_handler_ = {};
  router_handler_ = {};
  Connect(small, small);
  auto [slow_worker, slow_session] = ConnectWorker("slow");
  auto [fast_worker, fast_session] = ConnectWorker("fast");

  // The router sends the slow worker far more than it reads: the router's side stops reading
  // the session once a window is in flight, so the router's writes eventually block.
  const std::string chunk(1 << 20, 'a');
  std::size_t sent = 0;
  for (int i = 0; i < 50; ++i) {
    sent += WriteSome(slow_session, chunk);
    io_.run_for(10ms);
  }
  EXPECT_LT(sent, std::size_t{8} << 20) << "nothing held the sender back";
  EXPECT_LE(relay_->mux_queued_bytes(), small.mux_queue_bytes + (64 << 10) + 4096);

  // Meanwhile the other worker's channel still works both ways.
  ASSERT_EQ(WriteSome(fast_worker, "ping"), 4u);
  std::string got;
  ASSERT_TRUE(RunUntil([&] { return (got += ReadAvailable(fast_session)) == "ping"; }));
  ASSERT_EQ(WriteSome(fast_session, "pong"), 4u);
  got.clear();
  ASSERT_TRUE(RunUntil([&] { return (got += ReadAvailable(fast_worker)) == "pong"; }));

  // Once the slow worker reads, everything the router wrote arrives, in order.
  std::size_t received = 0;
  bool intact = true;
  ASSERT_TRUE(RunUntil([&] {
    std::string part = ReadAvailable(slow_worker);
    intact = intact && part.find_first_not_of('a') == std::string::npos;
    received += part.size();
    return received == sent;
  }, 20s)) << received << " of " << sent;
  EXPECT_TRUE(intact);
  for (int fd : {slow_worker, slow_session, fast_worker, fast_session}) ::close(fd);
}

TEST_F(RelayMuxBridgeTest, CorruptMuxStreamEndsTheBridgeAndClosesEveryChannel) {
  auto [worker, session] = ConnectWorker();
  // What a shell start-up file printing into the session would look like to the router.
  TearDown();
  relay_handler_ = {};
  router_handler_ = {};
  auto [fake_relay, router_end] = SocketPair();
  router_ = MuxBridge::Create(io_, router_end, router_end, {}, router_handler_);
  router_->Start();
  relay_ = MuxBridge::Create(io_, ::dup(fake_relay), ::dup(fake_relay), {}, relay_handler_);
  ASSERT_GT(WriteSome(fake_relay, EncodeFrame(FrameType::kOpen, 1, "peer")), 0u);
  ASSERT_TRUE(RunUntil([&] { return router_handler_.opened.contains(1); }));
  const int open_session = router_handler_.opened[1];
  ASSERT_GT(WriteSome(fake_relay, "Welcome to the cluster!\n"), 0u);
  ASSERT_TRUE(RunUntil([&] { return router_handler_.ended.has_value(); }));
  EXPECT_NE(router_handler_.ended->find("corrupt mux stream"), std::string::npos)
      << *router_handler_.ended;
  bool eof = false;
  ReadAvailable(open_session, &eof);
  EXPECT_TRUE(eof) << "a channel outlived its mux stream";
  EXPECT_EQ(router_->channel_count(), 0u);
  for (int fd : {worker, session, open_session, fake_relay}) ::close(fd);
}

TEST_F(RelayMuxBridgeTest, OtherSideGoneEndsTheBridge) {
  auto [worker, session] = ConnectWorker();
  router_->Shutdown();  // the ssh session is gone: the relay's stdin ends
  ASSERT_TRUE(RunUntil([&] { return relay_handler_.ended.has_value(); }));
  bool eof = false;
  ASSERT_TRUE(RunUntil([&] { ReadAvailable(worker, &eof); return eof; }));
  ::close(worker);
  ::close(session);
}

TEST_F(RelayMuxBridgeTest, ConnectionThatSendsNothingIsClosedAfterTheHelloTimeout) {
  TearDown();
  relay_handler_ = {};
  router_handler_ = {};
  MuxBridgeOptions relay_options;
  relay_options.first_byte_timeout = 100ms;
  Connect(relay_options);
  auto [silent, silent_session] = ConnectWorker("silent");
  auto [talker, talker_session] = ConnectWorker("talker");
  ASSERT_EQ(WriteSome(talker, "x"), 1u);
  bool eof = false;
  ASSERT_TRUE(RunUntil([&] { ReadAvailable(silent, &eof); return eof; }));
  ASSERT_EQ(relay_handler_.closed.size(), 1u);
  EXPECT_EQ(relay_handler_.closed.begin()->second, "sent nothing within the hello timeout");
  bool session_eof = false;
  ASSERT_TRUE(RunUntil([&] { ReadAvailable(silent_session, &session_eof); return session_eof; }));
  io_.run_for(200ms);
  EXPECT_EQ(relay_->channel_count(), 1u) << "the connection that spoke was closed too";
  for (int fd : {silent, silent_session, talker, talker_session}) ::close(fd);
}

TEST_F(RelayMuxBridgeTest, RefusedChannelIsClosedAtTheRelay) {
  router_handler_.refuse = true;
  auto [worker, inner] = SocketPair();
  relay_->Open(inner, "peer");
  bool eof = false;
  ASSERT_TRUE(RunUntil([&] { ReadAvailable(worker, &eof); return eof; }));
  EXPECT_EQ(relay_handler_.closed.begin()->second, "refused");
  ::close(worker);
}

TEST_F(RelayMuxBridgeTest, FramesForUnknownChannelsAreIgnoredAndTwiceOpenedEndsTheStream) {
  TearDown();
  router_handler_ = {};
  auto [fake_relay, router_end] = SocketPair();
  router_ = MuxBridge::Create(io_, router_end, router_end, {}, router_handler_);
  router_->Start();
  relay_ = MuxBridge::Create(io_, ::dup(fake_relay), ::dup(fake_relay), {}, relay_handler_);
  WriteSome(fake_relay, EncodeFrame(FrameType::kData, 99, "late") + EncodeCredit(98, 5) +
                            EncodeFrame(FrameType::kClose, 97, "late") +
                            EncodeFrame(FrameType::kOpen, 1, "a"));
  ASSERT_TRUE(RunUntil([&] { return router_handler_.opened.contains(1); }));
  EXPECT_FALSE(router_handler_.ended.has_value());
  WriteSome(fake_relay, EncodeFrame(FrameType::kOpen, 1, "again"));
  ASSERT_TRUE(RunUntil([&] { return router_handler_.ended.has_value(); }));
  EXPECT_NE(router_handler_.ended->find("twice"), std::string::npos);
  ::close(router_handler_.opened[1]);
  ::close(fake_relay);
}

}  // namespace
}  // namespace codeswarm::relay
