// The relay's frame format (relay/mux_frame.h): what a correct peer sends round-trips however
// the bytes are split; what no correct peer sends is refused on the header, before its payload
// is awaited or buffered.
#include <gtest/gtest.h>

#include <random>

#include "relay/mux_frame.h"
#include "relay/relay_main.h"

namespace codeswarm::relay {
namespace {

std::string Header(std::uint8_t type, ChannelId id, std::uint32_t length) {
  std::string header = EncodeFrame(static_cast<FrameType>(type), id, "");
  header[5] = static_cast<char>(length >> 24);
  header[6] = static_cast<char>(length >> 16);
  header[7] = static_cast<char>(length >> 8);
  header[8] = static_cast<char>(length);
  return header;
}

std::string ErrorOf(const std::string& bytes) {
  FrameDecoder decoder;
  decoder.Append(bytes);
  auto next = decoder.Next();
  return next.ok() ? "" : next.status().message();
}

TEST(RelayMuxFrameTest, EveryFrameKindRoundTripsWhateverTheSplit) {
  std::string stream = EncodeHello({"login1.cluster", 40123}) +
                       EncodeFrame(FrameType::kOpen, 7, "10.0.0.5:41234") +
                       EncodeFrame(FrameType::kData, 7, std::string(3000, 'x') + '\0' + "tail") +
                       EncodeCredit(7, 70000) + EncodeFrame(FrameType::kClose, 7, "bye");
  for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{8}, std::size_t{9},
                           std::size_t{100}, stream.size()}) {
    FrameDecoder decoder;
    std::vector<Frame> frames;
    for (std::size_t at = 0; at < stream.size(); at += step) {
      decoder.Append(std::string_view(stream).substr(at, step));
      for (;;) {
        auto next = decoder.Next();
        ASSERT_TRUE(next.ok()) << next.status().message();
        if (!next->has_value()) break;
        frames.push_back(std::move(**next));
      }
    }
    ASSERT_EQ(frames.size(), 5u) << "step " << step;
    EXPECT_EQ(decoder.buffered(), 0u);
    EXPECT_EQ(frames[0].type, FrameType::kHello);
    auto hello = ParseHello(frames[0].payload);
    ASSERT_TRUE(hello.ok());
    EXPECT_EQ(hello->host, "login1.cluster");
    EXPECT_EQ(hello->port, 40123);
    EXPECT_EQ(frames[1].payload, "10.0.0.5:41234");
    EXPECT_EQ(frames[2].id, 7u);
    EXPECT_EQ(frames[2].payload, std::string(3000, 'x') + '\0' + "tail");
    EXPECT_EQ(CreditOf(frames[3]), 70000u);
    EXPECT_EQ(frames[4].type, FrameType::kClose);
    EXPECT_EQ(frames[4].payload, "bye");
  }
}

TEST(RelayMuxFrameTest, TruncatedFrameWaitsForItsBytes) {
  std::string frame = EncodeFrame(FrameType::kData, 3, "abcdef");
  FrameDecoder decoder;
  decoder.Append(frame.substr(0, frame.size() - 1));
  auto next = decoder.Next();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(decoder.buffered(), frame.size() - 1);
}

TEST(RelayMuxFrameTest, HugeFrameIsRefusedOnItsHeaderAlone) {
  std::string error = ErrorOf(Header(3, 1, kMaxFramePayload + 1));
  EXPECT_NE(error.find("exceeds the limit of 65536 bytes"), std::string::npos) << error;
  EXPECT_NE(ErrorOf(Header(3, 1, 0xffffffffu)), "");
  EXPECT_EQ(ErrorOf(Header(3, 1, kMaxFramePayload)), "") << "the limit itself is allowed";
}

TEST(RelayMuxFrameTest, FramesNoPeerSendsAreRefused) {
  EXPECT_NE(ErrorOf(Header(0, 1, 0)).find("unknown relay frame"), std::string::npos);
  EXPECT_NE(ErrorOf(Header(6, 1, 0)).find("unknown relay frame"), std::string::npos);
  EXPECT_NE(ErrorOf(Header(0xff, 1, 0)), "");
  EXPECT_NE(ErrorOf(Header(3, 0, 1)).find("channel 0"), std::string::npos) << "data on channel 0";
  EXPECT_NE(ErrorOf(Header(1, 5, 1)).find("channel 0"), std::string::npos) << "hello on channel 5";
  EXPECT_NE(ErrorOf(Header(5, 1, 3)).find("4 bytes"), std::string::npos) << "short credit";
  EXPECT_NE(ErrorOf(Header(2, 1, kMaxTextPayload + 1)).find("text over"), std::string::npos);
}

TEST(RelayMuxFrameTest, ErrorIsStickyAndLaterBytesChangeNothing) {
  FrameDecoder decoder;
  decoder.Append(Header(9, 1, 0));
  EXPECT_FALSE(decoder.Next().ok());
  decoder.Append(EncodeFrame(FrameType::kData, 1, "fine"));
  EXPECT_FALSE(decoder.Next().ok());
}

TEST(RelayMuxFrameTest, RandomBytesNeverCrashAndNeverBufferPastOneFrame) {
  std::mt19937 random(20261202);
  for (int trial = 0; trial < 2000; ++trial) {
    FrameDecoder decoder;
    std::string bytes(1 + random() % 300, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    // Half the trials start with a valid frame, so the garbage lands mid-stream.
    if (trial % 2 == 0) bytes = EncodeFrame(FrameType::kData, 1 + trial, "ok") + bytes;
    decoder.Append(bytes);
    for (int i = 0; i < 100; ++i) {
      auto next = decoder.Next();
      if (!next.ok() || !next->has_value()) break;
    }
    EXPECT_LE(decoder.buffered(), kFrameHeaderBytes + kMaxFramePayload);
  }
}

TEST(RelayMuxFrameTest, HelloMustNameAHostAndAPort) {
  EXPECT_TRUE(ParseHello("codeswarm-relay/1 10.1.2.3 1").ok());
  for (const char* bad : {"", "codeswarm-relay/1 ", "codeswarm-relay/1 host", "codeswarm-relay/1 host 0",
                          "codeswarm-relay/1 host 65536", "codeswarm-relay/1 host 12x",
                          "codeswarm-relay/2 host 80", "Last login: Mon Dec  1 host 80",
                          "codeswarm-relay/1 two words 80"}) {
    EXPECT_FALSE(ParseHello(bad).ok()) << bad;
  }
}

TEST(RelayArgsTest, OptionsRoundTripThroughTheCommandLine) {
  RelayOptions options;
  options.listen_host = "10.0.0.1";
  options.port = 40123;
  options.advertise_host = "login1";
  options.hello_timeout_seconds = 2.5;
  options.max_connections = 7;
  options.bind_wait_seconds = 0;
  options.log_level = "debug";
  auto parsed = ParseRelayArgs(RelayArgs(options));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->listen_host, "10.0.0.1");
  EXPECT_EQ(parsed->port, 40123);
  EXPECT_EQ(parsed->advertise_host, "login1");
  EXPECT_DOUBLE_EQ(parsed->hello_timeout_seconds, 2.5);
  EXPECT_EQ(parsed->max_connections, 7);
  EXPECT_DOUBLE_EQ(parsed->bind_wait_seconds, 0);
  EXPECT_EQ(parsed->log_level, "debug");
}

TEST(RelayArgsTest, BadArgumentsSayWhich) {
  EXPECT_NE(ParseRelayArgs({"--port", "70000"}).status().message().find("--port"), std::string::npos);
  EXPECT_NE(ParseRelayArgs({"--port"}).status().message().find("needs a value"), std::string::npos);
  EXPECT_NE(ParseRelayArgs({"--secret", "x"}).status().message().find("unknown option --secret"),
            std::string::npos);
  EXPECT_FALSE(ParseRelayArgs({"--hello-timeout", "0"}).ok());
  EXPECT_FALSE(ParseRelayArgs({"--advertise-host", "a b"}).ok());
}

}  // namespace
}  // namespace codeswarm::relay
