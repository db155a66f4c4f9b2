// LineChannel on real loopback sockets: framing, order, the queue bound, the write time limit
// and closing with a reason. The peer is a plain non-blocking socket the test drives by hand;
// every wait runs the loop until a condition holds or a deadline passes.
#include "common/line_channel.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <functional>
#include <optional>

#include "unit/loopback_peer.h"

namespace codeswarm {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Owns the channel the way a session does, and records what the channel tells it.
class Owner : public LineChannelHandler, public std::enable_shared_from_this<Owner> {
 public:
  Owner(tcp::socket socket, LineChannelOptions options)
      : channel(std::move(socket), std::move(options), *this, SystemClock::Get()) {}

  void OnLine(std::string_view line) override { lines.emplace_back(line); }
  void OnLineTooLong() override { ++too_long; }
  void OnReadBatchEnd() override { ++batches; }
  void OnPeerTooSlow(SlowPeer why) override {
    slow.push_back(why);
    if (on_slow) on_slow(why);
  }
  void OnClosed(const std::string& reason) override {
    EXPECT_FALSE(closed) << "closed twice";
    closed = reason;
  }

  TcpLineChannel channel;
  std::vector<std::string> lines;
  int too_long = 0;
  int batches = 0;
  std::vector<SlowPeer> slow;
  std::function<void(SlowPeer)> on_slow;  // what the owner does about a slow peer
  std::optional<std::string> closed;
};

class LineChannelTest : public ::testing::Test {
 protected:
  // Connects a peer (with small buffers on both ends when `small_buffers`) to a channel.
  void Connect(LineChannelOptions options, bool small_buffers = false) {
    owner_ = std::make_shared<Owner>(peer_.Connect(io_, small_buffers), std::move(options));
    owner_->channel.Start(owner_);
  }

  // Runs the loop (the peer reading what it was sent, when `peer_reads`) until `done` holds or
  // the deadline passes.
  bool RunUntil(const std::function<bool()>& done, bool peer_reads = false) {
    return testing::RunUntil(io_, done, peer_reads ? &peer_ : nullptr);
  }

  // Sends `chunk` until the channel is no longer open (at most `max_sends` times).
  void SendUntilCutOff(const std::string& chunk, int max_sends) {
    for (int i = 0; i < max_sends && owner_->channel.is_open(); ++i) {
      io_.poll();  // the writes so far go as far as the kernel takes them
      owner_->channel.Send(chunk);
    }
  }

  asio::io_context io_;
  testing::LoopbackPeer peer_;
  std::shared_ptr<Owner> owner_;
};

TEST_F(LineChannelTest, LinesArriveWholeWhateverTheReadsSplitThem) {
  Connect({});
  peer_.Write("one\ntw");
  ASSERT_TRUE(RunUntil([&] { return owner_->lines.size() == 1; }));
  peer_.Write("o\r\nthree\n");
  ASSERT_TRUE(RunUntil([&] { return owner_->lines.size() == 3; }));
  EXPECT_EQ(owner_->lines, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_GE(owner_->batches, 2);
}

TEST_F(LineChannelTest, TooLongLineIsReportedAndDiscardedAndTheChannelReadsOn) {
  LineChannelOptions options;
  options.max_line_bytes = 8;
  Connect(options);
  peer_.Write("0123456789abcdef\nok\n");
  ASSERT_TRUE(RunUntil([&] { return owner_->lines.size() == 1; }));
  EXPECT_EQ(owner_->too_long, 1);
  EXPECT_EQ(owner_->lines, std::vector<std::string>{"ok"});
  EXPECT_TRUE(owner_->channel.is_open());
}

TEST_F(LineChannelTest, SentBytesArriveInOrderOwnedAndSharedAlike) {
  Connect({});
  std::string expected;
  auto shared = std::make_shared<const std::string>("shared batch line\n");
  for (int i = 0; i < 2000; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    expected += line;
    owner_->channel.Send(std::move(line));
    if (i % 100 == 0) {
      owner_->channel.Send(shared);
      expected += *shared;
    }
  }
  ASSERT_TRUE(RunUntil(
      [&] {
        return peer_.received().size() >= expected.size() && owner_->channel.queued_bytes() == 0;
      },
      true));
  EXPECT_EQ(peer_.received(), expected);
  EXPECT_TRUE(owner_->slow.empty());
}

TEST_F(LineChannelTest, PeerThatStopsReadingIsCutOffAtTheQueueBound) {
  LineChannelOptions options;
  options.queue_bytes = 64 * 1024;
  Connect(options, /*small_buffers=*/true);
  SendUntilCutOff(std::string(16 * 1024 - 1, 'x') + "\n", 1000);
  EXPECT_EQ(owner_->slow, std::vector<SlowPeer>{SlowPeer::kQueueFull});
  EXPECT_LE(owner_->channel.queued_bytes(), 64u * 1024);
  // Nobody said goodbye, so the channel aborted; the owner hears of it from a fresh handler.
  EXPECT_FALSE(owner_->closed);
  ASSERT_TRUE(RunUntil([&] { return owner_->closed.has_value(); }));
  EXPECT_EQ(*owner_->closed, "the peer is not reading");
}

TEST_F(LineChannelTest, OneChunkLargerThanTheBoundIsTakenWhenNothingWaits) {
  LineChannelOptions options;
  options.queue_bytes = 1024;
  Connect(options);
  std::string big(64 * 1024 - 1, 'y');
  owner_->channel.Send(big + "\n");
  EXPECT_TRUE(owner_->slow.empty());
  ASSERT_TRUE(RunUntil([&] { return peer_.received().size() == big.size() + 1; }, true));
}

TEST_F(LineChannelTest, PeerThatTakesNothingWithinTheWriteTimeLimitIsCutOffWithItsReason) {
  LineChannelOptions options;
  options.queue_bytes = 64 << 20;  // the bound is never reached: only the clock can cut it off
  options.write_timeout = 300ms;
  options.peer_name = "client";
  Connect(options, /*small_buffers=*/true);
  owner_->on_slow = [&](SlowPeer why) {
    owner_->channel.CloseWith("closing: too slow\n", "client too slow", 200ms);
  };
  const auto start = std::chrono::steady_clock::now();
  // More than the kernel buffers on both ends hold.
  for (int i = 0; i < 64; ++i) owner_->channel.Send(std::string(16 * 1024 - 1, 'z') + "\n");
  ASSERT_TRUE(RunUntil([&] { return owner_->closed.has_value(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_EQ(owner_->slow, std::vector<SlowPeer>{SlowPeer::kWriteTimeout});
  // It never took its last line either, so the grace period ended it.
  EXPECT_EQ(*owner_->closed, "client too slow");
}

TEST_F(LineChannelTest, PeerThatKeepsReadingIsNotCutOffByTheWriteTimeLimit) {
  LineChannelOptions options;
  options.write_timeout = 2s;
  Connect(options, /*small_buffers=*/true);
  const std::string chunk(16 * 1024 - 1, 'r');
  for (int i = 0; i < 256; ++i) owner_->channel.Send(chunk + "\n");
  ASSERT_TRUE(RunUntil([&] { return peer_.received().size() == 256 * chunk.size() + 256; }, true));
  EXPECT_TRUE(owner_->slow.empty());
  EXPECT_TRUE(owner_->channel.is_open());
}

TEST_F(LineChannelTest, CloseWithFinishesTheLineBeingWrittenDropsTheRestAndSaysWhy) {
  Connect({});
  owner_->channel.Send("first\n");  // its write has begun
  owner_->channel.Send("second\n");
  owner_->channel.Send("third\n");
  owner_->channel.CloseWith("bye: shutting down\n", "router shutting down", 5s);
  owner_->channel.Send("after\n");  // ignored: the channel is closing
  ASSERT_TRUE(RunUntil([&] { return peer_.saw_eof(); }, true));
  EXPECT_EQ(peer_.received(), "first\nbye: shutting down\n");
  ASSERT_TRUE(RunUntil([&] { return owner_->closed.has_value(); }));
  EXPECT_EQ(*owner_->closed, "router shutting down");
}

TEST_F(LineChannelTest, CloseSendsEverythingQueuedThenCloses) {
  Connect({});
  owner_->channel.Send("a\n");
  owner_->channel.Send("b\n");
  owner_->channel.Close("done");
  peer_.Write("ignored\n");
  ASSERT_TRUE(RunUntil([&] { return peer_.saw_eof() && owner_->closed.has_value(); }, true));
  EXPECT_EQ(peer_.received(), "a\nb\n");
  EXPECT_EQ(*owner_->closed, "done");
  EXPECT_TRUE(owner_->lines.empty());  // nothing is read once closing
}

TEST_F(LineChannelTest, PeerClosingItsEndIsReportedByName) {
  LineChannelOptions options;
  options.peer_name = "worker";
  Connect(options);
  peer_.Close();
  ASSERT_TRUE(RunUntil([&] { return owner_->closed.has_value(); }));
  EXPECT_EQ(*owner_->closed, "connection closed by the worker");
}

TEST_F(LineChannelTest, OwnerLivesWhileTheChannelHasWorkInFlightAndGoesAfterItCloses) {
  Connect({});
  std::weak_ptr<Owner> weak = owner_;
  owner_.reset();  // only the pending read holds it now
  EXPECT_FALSE(weak.expired());
  peer_.Close();
  ASSERT_TRUE(RunUntil([&] { return weak.expired(); }));
}

}  // namespace
}  // namespace codeswarm
