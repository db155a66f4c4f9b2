// MuxBridge: carries many byte-stream connections ("channels") over one mux byte stream in
// frames (relay/mux_frame.h). The relay uses it with the accepted worker sockets and its
// stdin/stdout; the router with one end of a socketpair per channel and the ssh client's pipes.
//
// Bounded: a side reads from a channel only while fewer than `window_bytes` of it are
// unacknowledged (the other side acknowledges what it has written with kCredit), and reads from
// no channel while more than `mux_queue_bytes` wait to go out on the mux stream. So a slow worker
// holds back its own channel, not the others, and memory per channel stays within the window.
//
// Threading: not thread-safe; everything runs on the io_context's one thread. The handler is
// called from there and must outlive the bridge (or call Shutdown first).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "relay/mux_frame.h"

namespace boost::asio {
class io_context;
}

namespace codeswarm::relay {

struct MuxBridgeOptions {
  // Bytes of one channel in flight (sent, not yet acknowledged) at most.
  std::size_t window_bytes = 1 << 20;
  // Local reads pause while this much waits to be written to the mux stream.
  std::size_t mux_queue_bytes = 4 << 20;
  // A channel opened with Open() whose peer sends no byte within this is closed (0: never).
  std::chrono::milliseconds first_byte_timeout{0};
  // Who holds the local ends, for the reasons given: "closed by the <local_name>".
  std::string local_name = "local end";
};

class MuxBridgeHandler {
 public:
  virtual ~MuxBridgeHandler() = default;
  // The other side's hello (the relay's address).
  virtual void OnHello(const HelloInfo& hello) {}
  // The other side opened channel `id` (a worker connected at `peer`). Returns the descriptor
  // that carries it here (the bridge owns it from then on), or nullopt to refuse it.
  virtual std::optional<int> OnOpen(ChannelId id, std::string_view peer) { return std::nullopt; }
  // Channel `id` is closed (by either side, or an error); `reason` for log lines.
  virtual void OnChannelClosed(ChannelId id, const std::string& peer, const std::string& reason) {}
  // The mux stream ended (EOF, an error or a corrupt frame); every channel was closed. Last call.
  virtual void OnEnded(const std::string& reason) = 0;
};

class MuxBridge {
 public:
  // Takes ownership of both descriptors (which may be equal) and makes them non-blocking.
  static std::shared_ptr<MuxBridge> Create(boost::asio::io_context& io, int mux_in, int mux_out,
                                           const MuxBridgeOptions& options,
                                           MuxBridgeHandler& handler);
  virtual ~MuxBridge() = default;

  // Starts reading the mux stream.
  virtual void Start() = 0;
  // Sends the hello frame (the relay's first frame).
  virtual void SendHello(const HelloInfo& hello) = 0;
  // Opens a channel for `fd` (ownership passes to the bridge); tells the other side.
  virtual ChannelId Open(int fd, const std::string& peer) = 0;
  // Closes a channel and tells the other side why. No-op for an unknown id.
  virtual void Close(ChannelId id, const std::string& reason) = 0;
  // Closes every channel and the mux stream without calling the handler again.
  virtual void Shutdown() = 0;
  virtual std::size_t channel_count() const = 0;
  // Bytes waiting to be written to the mux stream.
  virtual std::size_t mux_queued_bytes() const = 0;
};

}  // namespace codeswarm::relay
