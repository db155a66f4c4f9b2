#include "relay/mux_frame.h"

#include <charconv>

namespace codeswarm::relay {

namespace {

void PutUint32(std::string& out, std::uint32_t value) {
  out.push_back(static_cast<char>(value >> 24));
  out.push_back(static_cast<char>(value >> 16));
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value));
}

std::uint32_t GetUint32(std::string_view bytes) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[0])) << 24 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[1])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[2])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[3]));
}

// Why a header cannot start a valid frame, or nullopt.
std::optional<std::string> HeaderError(std::uint8_t type, ChannelId id, std::uint32_t length) {
  const std::string where = "relay frame (type " + std::to_string(type) + ", channel " +
                            std::to_string(id) + ", " + std::to_string(length) + " bytes)";
  if (type < static_cast<std::uint8_t>(FrameType::kHello) ||
      type > static_cast<std::uint8_t>(FrameType::kCredit)) {
    return "unknown " + where;
  }
  const auto frame_type = static_cast<FrameType>(type);
  if (length > kMaxFramePayload) {
    return where + " exceeds the limit of " + std::to_string(kMaxFramePayload) + " bytes";
  }
  if ((frame_type == FrameType::kHello) != (id == 0)) {
    return where + ": channel 0 is the hello's and only the hello's";
  }
  if ((frame_type == FrameType::kHello || frame_type == FrameType::kOpen ||
       frame_type == FrameType::kClose) &&
      length > kMaxTextPayload) {
    return where + ": text over " + std::to_string(kMaxTextPayload) + " bytes";
  }
  if (frame_type == FrameType::kCredit && length != 4) return where + ": a credit has 4 bytes";
  return std::nullopt;
}

}  // namespace

std::string EncodeFrame(FrameType type, ChannelId id, std::string_view payload) {
  std::string out;
  out.reserve(kFrameHeaderBytes + payload.size());
  out.push_back(static_cast<char>(type));
  PutUint32(out, id);
  PutUint32(out, static_cast<std::uint32_t>(payload.size()));
  out.append(payload);
  return out;
}

std::string EncodeCredit(ChannelId id, std::uint32_t bytes) {
  std::string payload;
  PutUint32(payload, bytes);
  return EncodeFrame(FrameType::kCredit, id, payload);
}

std::uint32_t CreditOf(const Frame& frame) { return GetUint32(frame.payload); }

std::string EncodeHello(const HelloInfo& hello) {
  return EncodeFrame(FrameType::kHello, 0,
                     std::string(kHelloPrefix) + hello.host + " " + std::to_string(hello.port));
}

Result<HelloInfo> ParseHello(std::string_view payload) {
  auto invalid = [&] {
    return Status::InvalidArgument("not a codeswarm relay hello: \"" +
                                   std::string(payload.substr(0, 80)) + "\"");
  };
  if (payload.substr(0, kHelloPrefix.size()) != kHelloPrefix) return invalid();
  std::string_view rest = payload.substr(kHelloPrefix.size());
  const std::size_t space = rest.rfind(' ');
  if (space == std::string_view::npos || space == 0) return invalid();
  HelloInfo hello;
  hello.host = std::string(rest.substr(0, space));
  std::string_view port = rest.substr(space + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), hello.port);
  if (ec != std::errc() || end != port.data() + port.size() || hello.port < 1 ||
      hello.port > 65535 || hello.host.find(' ') != std::string::npos) {
    return invalid();
  }
  return hello;
}

void FrameDecoder::Append(std::string_view bytes) {
  if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

Result<std::optional<Frame>> FrameDecoder::Next() {
  if (error_) return *error_;
  std::string_view pending = std::string_view(buffer_).substr(consumed_);
  if (pending.size() < kFrameHeaderBytes) return std::optional<Frame>();
  const auto type = static_cast<std::uint8_t>(pending[0]);
  const ChannelId id = GetUint32(pending.substr(1));
  const std::uint32_t length = GetUint32(pending.substr(5));
  // Checked on the header alone: a huge length is refused before its bytes are awaited.
  if (std::optional<std::string> why = HeaderError(type, id, length)) {
    error_ = Status::InvalidArgument(*why);
    return *error_;
  }
  if (pending.size() < kFrameHeaderBytes + length) return std::optional<Frame>();
  Frame frame;
  frame.type = static_cast<FrameType>(type);
  frame.id = id;
  frame.payload = std::string(pending.substr(kFrameHeaderBytes, length));
  consumed_ += kFrameHeaderBytes + length;
  return std::optional<Frame>(std::move(frame));
}

}  // namespace codeswarm::relay
