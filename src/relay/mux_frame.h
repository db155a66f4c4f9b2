// The relay's multiplexing: every worker connection the relay accepts on the login node travels
// over the one byte stream of its ssh session (the relay's stdin/stdout) as frames.
//
//   frame  = type (1 byte) | channel id (4 bytes, big endian) | length (4 bytes, big endian)
//            | payload (length bytes, at most kMaxFramePayload)
//
//   kHello  id 0   relay -> router, first frame: "codeswarm-relay/1 <host> <port>"
//   kOpen   id n   relay -> router: a worker connected; payload: its address, for log lines
//   kData   id n   either way: bytes of connection n (ciphertext: TLS runs end to end)
//   kClose  id n   either way: connection n is gone; payload: why, for log lines
//   kCredit id n   either way: the sender wrote this many more bytes of n to its side (4 bytes,
//                  big endian); a side never has more than the window unacknowledged per channel
//
// Pure: no I/O. The decoder refuses what no correct peer sends (an unknown type, a payload over
// the limit, an id that does not fit the type); after an error the stream is unusable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace codeswarm::relay {

using ChannelId = std::uint32_t;

enum class FrameType : std::uint8_t {
  kHello = 1,
  kOpen = 2,
  kData = 3,
  kClose = 4,
  kCredit = 5,
};

inline constexpr std::size_t kFrameHeaderBytes = 9;
inline constexpr std::size_t kMaxFramePayload = 64 << 10;
// Open and close payloads are text for log lines, hello a short line.
inline constexpr std::size_t kMaxTextPayload = 512;
inline constexpr std::string_view kHelloPrefix = "codeswarm-relay/1 ";

struct Frame {
  FrameType type = FrameType::kData;
  ChannelId id = 0;
  std::string payload;
};

// The bytes of one frame. REQUIRES: payload.size() <= kMaxFramePayload.
std::string EncodeFrame(FrameType type, ChannelId id, std::string_view payload);
std::string EncodeCredit(ChannelId id, std::uint32_t bytes);
// The credit a kCredit frame grants. REQUIRES: frame.type == kCredit (the decoder checked size).
std::uint32_t CreditOf(const Frame& frame);

// The relay's address as its hello frame states it.
struct HelloInfo {
  std::string host;
  int port = 0;
};
std::string EncodeHello(const HelloInfo& hello);
Result<HelloInfo> ParseHello(std::string_view payload);

// Splits a byte stream into frames.
class FrameDecoder {
 public:
  // Appends received bytes. Cheap: call Next() until it returns nothing.
  void Append(std::string_view bytes);
  // The next complete frame, nullopt when more bytes are needed, or an error (sticky: every
  // later call returns it) when the stream is not a valid frame sequence.
  Result<std::optional<Frame>> Next();
  // Bytes received but not yet returned as frames.
  std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::optional<Status> error_;
};

}  // namespace codeswarm::relay
