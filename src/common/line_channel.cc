#include "common/line_channel.h"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>

#include "common/channel_tls.h"

#include <algorithm>
#include <vector>

namespace codeswarm {
namespace asio = boost::asio;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
// More buffers per gather write than this save no system calls worth having (IOV_MAX is 1024).
constexpr std::size_t kMaxBuffersPerWrite = 64;

}  // namespace

template <typename Stream>
LineChannel<Stream>::LineChannel(Stream stream, LineChannelOptions options,
                                 LineChannelHandler& handler, const Clock& clock)
    : options_(std::move(options)),
      handler_(handler),
      clock_(clock),
      stream_(std::move(stream)),
      framer_(options_.max_line_bytes),
      write_timer_(stream_.get_executor()),
      grace_timer_(stream_.get_executor()) {}

template <typename Stream>
LineChannel<Stream>::~LineChannel() = default;

template <typename Stream>
void LineChannel<Stream>::Start(std::weak_ptr<void> owner) {
  owner_ = std::move(owner);
  started_ = true;
  ReadMore();
  WriteMore();
}

template <typename Stream>
void LineChannel<Stream>::Send(std::string bytes) {
  Chunk chunk;
  chunk.owned = std::move(bytes);
  Enqueue(std::move(chunk));
}

template <typename Stream>
void LineChannel<Stream>::Send(std::shared_ptr<const std::string> bytes) {
  Chunk chunk;
  chunk.shared = std::move(bytes);
  Enqueue(std::move(chunk));
}

template <typename Stream>
void LineChannel<Stream>::Enqueue(Chunk chunk) {
  const std::size_t size = chunk.bytes().size();
  if (state_ != State::kOpen || size == 0) return;
  if (queued_bytes_ > 0 && queued_bytes_ + size > options_.queue_bytes) {
    TooSlow(SlowPeer::kQueueFull);
    return;
  }
  queued_bytes_ += size;
  queue_.push_back(std::move(chunk));
  WriteMore();
}

template <typename Stream>
void LineChannel<Stream>::Close(std::string reason) {
  if (state_ != State::kOpen) return;
  state_ = State::kDraining;
  close_reason_ = std::move(reason);
  if (!started_) {
    Finish(close_reason_);
    return;
  }
  WriteMore();  // closes at once when nothing waits
}

template <typename Stream>
void LineChannel<Stream>::CloseWith(std::string last_bytes, std::string reason, Duration grace) {
  if (state_ == State::kClosed || state_ == State::kSayingGoodbye) return;
  state_ = State::kSayingGoodbye;
  close_reason_ = std::move(reason);
  if (!started_) {
    Finish(close_reason_);
    return;
  }
  DropUnwritten(0);
  if (!last_bytes.empty()) {
    queued_bytes_ += last_bytes.size();
    queue_.push_back(Chunk{nullptr, std::move(last_bytes)});
  }
  grace_timer_.expires_after(grace);
  grace_timer_.async_wait([this, owner = owner_.lock()](const boost::system::error_code& ec) {
    if (!ec && state_ != State::kClosed) Finish(close_reason_);  // it never took its last bytes
  });
  WriteMore();
}

template <typename Stream>
void LineChannel<Stream>::Abort(std::string reason) {
  Finish(reason);
}

template <typename Stream>
void LineChannel<Stream>::ReadMore() {
  if (state_ != State::kOpen) return;
  std::span<char> area = framer_.Prepare(kReadChunk);
  stream_.async_read_some(asio::buffer(area.data(), area.size()),
                          [this, owner = owner_.lock()](const boost::system::error_code& ec,
                                                        std::size_t n) { OnRead(ec, n); });
}

template <typename Stream>
void LineChannel<Stream>::OnRead(const boost::system::error_code& ec, std::size_t n) {
  if (state_ == State::kClosed) return;
  if (ec) {
    Finish(LostReason(ec));
    return;
  }
  if (state_ != State::kOpen) return;  // closing: what the peer says now is not ours to handle
  framer_.Commit(n);
  while (std::optional<LineFramer::Item> item = framer_.Next()) {
    if (item->kind == LineFramer::Item::Kind::kTooLong) {
      handler_.OnLineTooLong();
    } else {
      handler_.OnLine(item->line);
    }
    if (state_ != State::kOpen) return;
  }
  handler_.OnReadBatchEnd();
  ReadMore();
}

template <typename Stream>
void LineChannel<Stream>::WriteMore() {
  if (!started_ || in_flight_ > 0 || state_ == State::kClosed) return;
  if (queue_.empty()) {
    if (state_ != State::kOpen) Finish(close_reason_);
    return;
  }
  std::vector<asio::const_buffer> buffers;
  in_flight_ = std::min(queue_.size(), kMaxBuffersPerWrite);
  buffers.reserve(in_flight_);
  for (std::size_t i = 0; i < in_flight_; ++i) {
    std::string_view bytes = queue_[i].bytes();
    if (i == 0) bytes.remove_prefix(front_written_);
    buffers.push_back(asio::buffer(bytes.data(), bytes.size()));
  }
  // One write that takes a part is followed by another for the rest, so the time limit runs
  // from the last moment the peer took something: a peer that reads slowly but steadily is
  // bounded by the queue, one that stopped is cut off by the clock.
  write_began_ = clock_.Now();
  if (!write_timer_armed_) ArmWriteTimer(options_.write_timeout);
  stream_.async_write_some(
      buffers, [this, owner = owner_.lock()](const boost::system::error_code& ec, std::size_t n) {
        OnWritten(ec, n);
      });
}

template <typename Stream>
void LineChannel<Stream>::OnWritten(const boost::system::error_code& ec, std::size_t n) {
  in_flight_ = 0;
  if (state_ == State::kClosed) return;
  if (ec) {
    Finish(LostReason(ec));
    return;
  }
  Consume(n);
  if (state_ == State::kSayingGoodbye) DropUnwritten(1);
  WriteMore();
}

template <typename Stream>
void LineChannel<Stream>::Consume(std::size_t n) {
  while (n > 0 && !queue_.empty()) {
    const std::size_t size = queue_.front().bytes().size();
    const std::size_t left = size - front_written_;
    if (n < left) {
      front_written_ += n;
      return;
    }
    n -= left;
    queued_bytes_ -= size;
    queue_.pop_front();
    front_written_ = 0;
  }
}

template <typename Stream>
void LineChannel<Stream>::DropUnwritten(std::size_t keep_last) {
  // The pending write's buffers point into its chunks; a chunk partly written must be finished,
  // or the peer would get half a line.
  const std::size_t begin = in_flight_ > 0 ? in_flight_ : (front_written_ > 0 ? 1 : 0);
  if (queue_.size() <= keep_last || queue_.size() - keep_last <= begin) return;
  const auto first = queue_.begin() + static_cast<std::ptrdiff_t>(begin);
  const auto last = queue_.end() - static_cast<std::ptrdiff_t>(keep_last);
  for (auto it = first; it != last; ++it) queued_bytes_ -= it->bytes().size();
  queue_.erase(first, last);
}

template <typename Stream>
void LineChannel<Stream>::ArmWriteTimer(Duration delay) {
  write_timer_armed_ = true;
  write_timer_.expires_after(delay);
  write_timer_.async_wait([this, owner = owner_.lock()](const boost::system::error_code& ec) {
    write_timer_armed_ = false;
    if (!ec) OnWriteTimer();
  });
}

template <typename Stream>
void LineChannel<Stream>::OnWriteTimer() {
  // The timer is armed once and re-armed lazily, not once per write: writes are the hot path.
  if (state_ == State::kClosed || in_flight_ == 0) return;  // nothing waits for the peer
  const Duration waited = clock_.Now() - write_began_;
  if (waited < options_.write_timeout) {
    ArmWriteTimer(options_.write_timeout - waited);
    return;
  }
  if (state_ == State::kOpen) {
    TooSlow(SlowPeer::kWriteTimeout);
  } else {
    Finish(close_reason_);  // it does not take its last bytes either
  }
}

template <typename Stream>
void LineChannel<Stream>::TooSlow(SlowPeer why) {
  handler_.OnPeerTooSlow(why);
  if (state_ == State::kOpen) {
    Abort(why == SlowPeer::kQueueFull ? "the " + options_.peer_name + " is not reading"
                                      : "the " + options_.peer_name + " took nothing in time");
  }
}

template <typename Stream>
void LineChannel<Stream>::Finish(const std::string& reason) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  write_timer_.cancel();
  grace_timer_.cancel();
  // A TLS stream would send its close_notify here first.
  boost::system::error_code ignored;
  stream_.lowest_layer().shutdown(asio::socket_base::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  // The queue stays until the channel goes: a cancelled write may still hold its buffers.
  if (std::shared_ptr<void> owner = owner_.lock()) {
    asio::post(stream_.get_executor(),
               [this, owner = std::move(owner), reason] { handler_.OnClosed(reason); });
  }
}

template <typename Stream>
std::string LineChannel<Stream>::LostReason(const boost::system::error_code& ec) const {
  if (state_ != State::kOpen) return close_reason_;  // it went while we were closing anyway
  // Over TLS, a peer that just closes its socket (no close_notify) is a truncated stream.
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    return "connection closed by the " + options_.peer_name;
  }
  return "connection error: " + tls::DescribeTlsError(ec);
}

template class LineChannel<asio::ip::tcp::socket>;
template class LineChannel<TlsStream>;

}  // namespace codeswarm
