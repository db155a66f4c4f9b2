// LineChannel: one connection that carries newline-delimited text both ways, the way the
// router's client and worker sessions (and the worker's connection to the router) use theirs.
//
// - Reads are framed into lines with a size limit (LineFramer). An over-long line is reported
//   and discarded, and the channel reads on; what to make of it is the owner's decision.
// - Writes have one writer, a queue bounded in bytes and gather I/O (many queued chunks per
//   system call). A peer whose queue would pass the bound, or that takes none of the bytes
//   waiting for it within the write time limit, is too slow: the owner chooses how to say
//   goodbye (CloseWith its reason in the peer's protocol, or Abort), and the channel makes sure
//   the peer is cut off either way, so memory and time spent on one peer stay bounded.
// - The stream is a template parameter: a TCP socket (clients) or a TLS stream over one (the
//   worker channel, common/channel_tls.h; the owner runs the handshake on stream() before
//   Start). It needs async_read_some, async_write_some, get_executor and lowest_layer. The
//   channel is instantiated for the streams it supports in line_channel.cc, so only that file
//   compiles its body, and only the session files include this header (it brings in Asio).
//
// Threading: not thread-safe. Every call and every callback runs on the stream's executor (the
// one event loop thread that owns the connection).
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/line_framer.h"

namespace codeswarm {

struct LineChannelOptions {
  // Longest line accepted from the peer, newline excluded.
  std::size_t max_line_bytes = 1 << 20;
  // Bytes that may wait for the peer, those being written included. One chunk larger than this
  // is still taken when nothing waits: the bound is on what piles up, not on one message.
  std::size_t queue_bytes = 8 << 20;
  // A peer that takes none of the bytes waiting for it for this long is too slow.
  Duration write_timeout = std::chrono::seconds(30);
  // Names the peer in the reasons the channel gives: "connection closed by the <peer_name>".
  std::string peer_name = "peer";
};

enum class SlowPeer {
  kQueueFull,     // what waits for the peer would pass LineChannelOptions::queue_bytes
  kWriteTimeout,  // the peer took no byte for LineChannelOptions::write_timeout
};

// What the channel tells its owner. Callbacks run on the channel's executor.
class LineChannelHandler {
 public:
  virtual ~LineChannelHandler() = default;
  // One line from the peer without its newline (or a trailing "\r"); valid during the call.
  virtual void OnLine(std::string_view line) = 0;
  // The peer sent a line longer than max_line_bytes. It was discarded; the channel reads on.
  virtual void OnLineTooLong() = 0;
  // Every line of one read has been handled (a natural point to acknowledge in bulk).
  virtual void OnReadBatchEnd() {}
  // The peer is too slow (see SlowPeer). The handler closes the channel, with CloseWith to tell
  // the peer why or with Abort; a channel the handler leaves open is aborted right after. May
  // be called from inside Send.
  virtual void OnPeerTooSlow(SlowPeer why) = 0;
  // The channel has closed: `reason` is the one given to Close, CloseWith or Abort, or says what
  // happened to the connection ("connection closed by the worker", "connection error: ...").
  // Called once, from a handler of its own: never from inside a call made on the channel.
  virtual void OnClosed(const std::string& reason) = 0;
};

template <typename Stream>
class LineChannel {
 public:
  // Borrows `handler` and `clock`; both must outlive the channel.
  LineChannel(Stream stream, LineChannelOptions options, LineChannelHandler& handler,
              const Clock& clock);
  ~LineChannel();
  LineChannel(const LineChannel&) = delete;
  LineChannel& operator=(const LineChannel&) = delete;

  // Starts reading, and writing what was queued before. `owner` owns this channel and its
  // handler (a session): every pending operation holds it, so both live as long as the channel
  // has work in flight. Call once, before Close, CloseWith or Abort.
  void Start(std::weak_ptr<void> owner);

  // Queues bytes (complete lines, newline included). Ignored once the channel is closing.
  void Send(std::string bytes);
  // The same for bytes shared with other channels (one broadcast batch for every client).
  void Send(std::shared_ptr<const std::string> bytes);

  // Stops reading, sends what is queued, then closes (within the write time limit).
  void Close(std::string reason);
  // Stops reading, drops every queued chunk not yet begun, sends `last_bytes` (the reason in
  // the peer's protocol) and closes once they are sent or `grace` has passed, whichever is first.
  void CloseWith(std::string last_bytes, std::string reason, Duration grace);
  // Closes now; nothing more is sent.
  void Abort(std::string reason);

  // Neither closing nor closed.
  bool is_open() const { return state_ == State::kOpen; }
  // Bytes read from the peer that do not form a complete line yet.
  std::size_t unframed_bytes() const { return framer_.buffered(); }
  // Bytes waiting for the peer, those being written included.
  std::size_t queued_bytes() const { return queued_bytes_; }
  const LineChannelOptions& options() const { return options_; }
  // For socket options and addresses.
  Stream& stream() { return stream_; }

 private:
  enum class State {
    kOpen,
    kDraining,       // Close: sending what is queued, then closing
    kSayingGoodbye,  // CloseWith: sending the last bytes, then closing
    kClosed,
  };
  // Queued bytes: owned by this channel, or shared with others.
  struct Chunk {
    std::shared_ptr<const std::string> shared;
    std::string owned;
    std::string_view bytes() const { return shared ? std::string_view(*shared) : owned; }
  };

  void Enqueue(Chunk chunk);
  void ReadMore();
  void OnRead(const boost::system::error_code& ec, std::size_t n);
  void WriteMore();
  void OnWritten(const boost::system::error_code& ec, std::size_t n);
  // Removes the written bytes from the front of the queue.
  void Consume(std::size_t n);
  // Drops queued chunks of which no byte is written or being written, except the last
  // `keep_last` (the goodbye).
  void DropUnwritten(std::size_t keep_last);
  void ArmWriteTimer(Duration delay);
  void OnWriteTimer();
  void TooSlow(SlowPeer why);
  void Finish(const std::string& reason);
  // The reason for a connection that ended under us (read or write error).
  std::string LostReason(const boost::system::error_code& ec) const;

  // Constant after construction.
  const LineChannelOptions options_;
  LineChannelHandler& handler_;
  const Clock& clock_;

  Stream stream_;
  std::weak_ptr<void> owner_;
  bool started_ = false;
  State state_ = State::kOpen;
  std::string close_reason_;
  LineFramer framer_;

  std::deque<Chunk> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t front_written_ = 0;  // bytes of queue_.front() already written
  std::size_t in_flight_ = 0;      // chunks the pending write covers; 0 when none is pending
  // When the pending write began, which is the last time the peer took bytes.
  SteadyTime write_began_{};
  bool write_timer_armed_ = false;
  boost::asio::steady_timer write_timer_;
  boost::asio::steady_timer grace_timer_;
};

using TcpLineChannel = LineChannel<boost::asio::ip::tcp::socket>;
extern template class LineChannel<boost::asio::ip::tcp::socket>;
using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
using TlsLineChannel = LineChannel<TlsStream>;
extern template class LineChannel<TlsStream>;

}  // namespace codeswarm
