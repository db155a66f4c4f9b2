#include "relay/mux_bridge.h"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <deque>
#include <vector>

namespace codeswarm::relay {

namespace {

namespace asio = boost::asio;
using Descriptor = asio::posix::stream_descriptor;

constexpr std::size_t kChannelReadBytes = 32 << 10;
constexpr std::size_t kMuxReadBytes = 64 << 10;

struct Channel {
  Channel(asio::io_context& io, ChannelId id, int fd, std::string peer)
      : id(id), stream(io, fd), peer(std::move(peer)), first_byte_timer(io) {}
  const ChannelId id;
  Descriptor stream;
  const std::string peer;
  std::vector<char> read_buffer = std::vector<char>(kChannelReadBytes);
  std::deque<std::string> writes;  // from the other side, to write here
  std::size_t write_bytes = 0;
  std::size_t unacknowledged = 0;  // read here, sent, not yet credited by the other side
  bool reading = false;
  bool writing = false;
  bool closed = false;
  std::optional<std::string> peer_closed;  // the other side's reason, once it closed
  asio::steady_timer first_byte_timer;
};
using ChannelPtr = std::shared_ptr<Channel>;

class MuxBridgeImpl final : public MuxBridge, public std::enable_shared_from_this<MuxBridgeImpl> {
 public:
  MuxBridgeImpl(asio::io_context& io, int mux_in, int mux_out, const MuxBridgeOptions& options,
                MuxBridgeHandler& handler)
      : io_(io),
        options_(options),
        handler_(handler),
        in_(io, mux_in),
        out_(io, mux_in == mux_out ? ::dup(mux_out) : mux_out),
        read_buffer_(kMuxReadBytes) {
    boost::system::error_code ignored;
    in_.non_blocking(true, ignored);
    out_.non_blocking(true, ignored);
  }

  void Start() override { ReadMux(); }

  void SendHello(const HelloInfo& hello) override { Send(EncodeHello(hello)); }

  ChannelId Open(int fd, const std::string& peer) override {
    do {
      ++next_id_;
    } while (next_id_ == 0 || channels_.contains(next_id_));
    auto channel = std::make_shared<Channel>(io_, next_id_, fd, peer);
    channels_[channel->id] = channel;
    Send(EncodeFrame(FrameType::kOpen, channel->id, peer.substr(0, kMaxTextPayload)));
    if (options_.first_byte_timeout.count() > 0) {
      channel->first_byte_timer.expires_after(options_.first_byte_timeout);
      channel->first_byte_timer.async_wait(
          [self = shared_from_this(), channel](const boost::system::error_code& ec) {
            if (ec || channel->closed) return;
            self->CloseChannel(channel, "sent nothing within the hello timeout", true);
          });
    }
    MaybeRead(channel);
    return channel->id;
  }

  void Close(ChannelId id, const std::string& reason) override {
    auto it = channels_.find(id);
    if (it != channels_.end()) CloseChannel(it->second, reason, true);
  }

  void Shutdown() override { End("", /*notify=*/false); }

  std::size_t channel_count() const override { return channels_.size(); }
  std::size_t mux_queued_bytes() const override { return out_bytes_; }

 private:
  void Send(std::string frame) {
    if (ended_) return;
    out_bytes_ += frame.size();
    out_queue_.push_back(std::move(frame));
    if (!out_writing_) WriteMux();
  }

  void WriteMux() {
    if (ended_ || out_queue_.empty()) return;
    out_writing_ = true;
    out_in_flight_.clear();
    while (!out_queue_.empty() && out_in_flight_.size() < 64) {
      out_in_flight_.push_back(std::move(out_queue_.front()));
      out_queue_.pop_front();
    }
    std::vector<asio::const_buffer> buffers;
    for (const std::string& frame : out_in_flight_) buffers.push_back(asio::buffer(frame));
    asio::async_write(out_, buffers,
                      [self = shared_from_this()](const boost::system::error_code& ec,
                                                  std::size_t written) {
                        self->out_writing_ = false;
                        if (self->ended_) return;
                        if (ec) {
                          self->End("writing the mux stream failed: " + ec.message(), true);
                          return;
                        }
                        self->out_bytes_ -= written;
                        self->out_in_flight_.clear();
                        self->WriteMux();
                        if (self->out_bytes_ < self->options_.mux_queue_bytes) self->ResumeReads();
                      });
  }

  void ResumeReads() {
    std::vector<ChannelPtr> channels;
    for (auto& [id, channel] : channels_) channels.push_back(channel);
    for (ChannelPtr& channel : channels) MaybeRead(channel);
  }

  void ReadMux() {
    in_.async_read_some(asio::buffer(read_buffer_), [self = shared_from_this()](
                                                        const boost::system::error_code& ec,
                                                        std::size_t n) {
      if (self->ended_) return;
      if (ec) {
        self->End(ec == asio::error::eof ? "the mux stream ended"
                                         : "reading the mux stream failed: " + ec.message(),
                  true);
        return;
      }
      self->decoder_.Append(std::string_view(self->read_buffer_.data(), n));
      while (!self->ended_) {
        Result<std::optional<Frame>> frame = self->decoder_.Next();
        if (!frame.ok()) {
          self->End("corrupt mux stream: " + frame.status().message(), true);
          return;
        }
        if (!frame->has_value()) break;
        self->Dispatch(std::move(**frame));
      }
      if (!self->ended_) self->ReadMux();
    });
  }

  void Dispatch(Frame frame) {
    if (frame.type == FrameType::kHello) {
      Result<HelloInfo> hello = ParseHello(frame.payload);
      if (!hello.ok()) {
        End(hello.status().message(), true);
        return;
      }
      handler_.OnHello(*hello);
      return;
    }
    auto it = channels_.find(frame.id);
    if (frame.type == FrameType::kOpen) {
      if (it != channels_.end()) {
        End("the other side opened channel " + std::to_string(frame.id) + " twice", true);
        return;
      }
      std::optional<int> fd = handler_.OnOpen(frame.id, frame.payload);
      if (!fd) {
        Send(EncodeFrame(FrameType::kClose, frame.id, "refused"));
        return;
      }
      auto channel = std::make_shared<Channel>(io_, frame.id, *fd, frame.payload);
      channels_[frame.id] = channel;
      MaybeRead(channel);
      return;
    }
    // Frames for a channel closed meanwhile are normal: both sides may close at once.
    if (it == channels_.end()) return;
    ChannelPtr channel = it->second;
    switch (frame.type) {
      case FrameType::kData:
        if (channel->peer_closed) return;
        channel->write_bytes += frame.payload.size();
        channel->writes.push_back(std::move(frame.payload));
        if (channel->write_bytes > options_.window_bytes + kMaxFramePayload) {
          CloseChannel(channel, "the other side sent more than the window", true);
          return;
        }
        WriteChannel(channel);
        return;
      case FrameType::kClose:
        channel->peer_closed = frame.payload.empty() ? "closed by the other side" : frame.payload;
        if (!channel->writing) CloseChannel(channel, *channel->peer_closed, false);
        return;
      case FrameType::kCredit:
        channel->unacknowledged -= std::min<std::size_t>(CreditOf(frame), channel->unacknowledged);
        MaybeRead(channel);
        return;
      default:
        return;
    }
  }

  void MaybeRead(const ChannelPtr& channel) {
    if (ended_ || channel->reading || channel->closed || channel->peer_closed) return;
    if (channel->unacknowledged >= options_.window_bytes) return;
    if (out_bytes_ >= options_.mux_queue_bytes) return;
    const std::size_t room = std::min(kChannelReadBytes, options_.window_bytes - channel->unacknowledged);
    channel->reading = true;
    channel->stream.async_read_some(
        asio::buffer(channel->read_buffer.data(), room),
        [self = shared_from_this(), channel](const boost::system::error_code& ec, std::size_t n) {
          channel->reading = false;
          if (self->ended_ || channel->closed) return;
          if (ec) {
            self->CloseChannel(channel,
                               ec == asio::error::eof ? "closed by the " + self->options_.local_name
                                                       : ec.message(), true);
            return;
          }
          channel->first_byte_timer.cancel();
          channel->unacknowledged += n;
          self->Send(EncodeFrame(FrameType::kData, channel->id,
                                 std::string_view(channel->read_buffer.data(), n)));
          self->MaybeRead(channel);
        });
  }

  void WriteChannel(const ChannelPtr& channel) {
    if (channel->writing || channel->closed || channel->writes.empty()) return;
    channel->writing = true;
    asio::async_write(
        channel->stream, asio::buffer(channel->writes.front()),
        [self = shared_from_this(), channel](const boost::system::error_code& ec, std::size_t n) {
          channel->writing = false;
          if (self->ended_ || channel->closed) return;
          if (ec) {
            self->CloseChannel(channel, "writing failed: " + ec.message(), true);
            return;
          }
          channel->write_bytes -= n;
          channel->writes.pop_front();
          self->Send(EncodeCredit(channel->id, static_cast<std::uint32_t>(n)));
          if (!channel->writes.empty()) {
            self->WriteChannel(channel);
          } else if (channel->peer_closed) {
            self->CloseChannel(channel, *channel->peer_closed, false);
          }
        });
  }

  void CloseChannel(const ChannelPtr& channel, const std::string& reason, bool tell_other_side) {
    if (channel->closed) return;
    channel->closed = true;
    boost::system::error_code ignored;
    channel->first_byte_timer.cancel();
    channel->stream.close(ignored);
    channels_.erase(channel->id);
    if (tell_other_side) {
      Send(EncodeFrame(FrameType::kClose, channel->id, reason.substr(0, kMaxTextPayload)));
    }
    handler_.OnChannelClosed(channel->id, channel->peer, reason);
  }

  void End(const std::string& reason, bool notify) {
    if (ended_) return;
    ended_ = true;
    boost::system::error_code ignored;
    for (auto& [id, channel] : channels_) {
      channel->closed = true;
      channel->first_byte_timer.cancel();
      channel->stream.close(ignored);
    }
    channels_.clear();
    in_.close(ignored);
    out_.close(ignored);
    out_queue_.clear();
    if (notify) handler_.OnEnded(reason);
  }

  asio::io_context& io_;
  const MuxBridgeOptions options_;
  MuxBridgeHandler& handler_;
  Descriptor in_;
  Descriptor out_;
  std::vector<char> read_buffer_;
  FrameDecoder decoder_;
  std::map<ChannelId, ChannelPtr> channels_;
  std::deque<std::string> out_queue_;
  std::vector<std::string> out_in_flight_;
  std::size_t out_bytes_ = 0;  // queued and in flight
  bool out_writing_ = false;
  bool ended_ = false;
  ChannelId next_id_ = 0;
};

}  // namespace

std::shared_ptr<MuxBridge> MuxBridge::Create(asio::io_context& io, int mux_in, int mux_out,
                                             const MuxBridgeOptions& options,
                                             MuxBridgeHandler& handler) {
  return std::make_shared<MuxBridgeImpl>(io, mux_in, mux_out, options, handler);
}

}  // namespace codeswarm::relay
