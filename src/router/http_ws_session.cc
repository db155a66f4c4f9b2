#include "router/http_ws_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>

#include "router/router_core.h"

namespace codeswarm::router {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

// A close frame's reason is at most 123 bytes; the whole reason went before it in
// connection_closing.
std::string CloseFrameReason(const std::string& reason) {
  if (reason.size() <= 123) return reason;
  return reason.substr(0, 120) + "...";
}

std::string Seconds(Duration d) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", ToSeconds(d));
  return text;
}

}  // namespace

WsSession::WsSession(beast::tcp_stream stream, ClientId id, RouterCore& core, ClientHub& hub,
                     const HttpLimits& limits, const Clock& clock)
    : id_(id),
      core_(core),
      hub_(hub),
      limits_(limits),
      clock_(clock),
      ws_(std::move(stream)),
      write_timer_(ws_.get_executor()),
      grace_timer_(ws_.get_executor()) {}

WsSession::~WsSession() = default;

void WsSession::Accept(beast::http::request<beast::http::string_body> request) {
  // Beast's own timers from here on: the handshake's limit, then a ping after ping_interval of
  // silence and the end of a connection that stays silent as long again.
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeout;
  timeout.handshake_timeout = limits_.request_timeout;
  timeout.idle_timeout = 2 * limits_.ping_interval;
  timeout.keep_alive_pings = true;
  ws_.set_option(timeout);
  ws_.read_message_max(limits_.client.channel.max_line_bytes);
  ws_.auto_fragment(false);
  ws_.text(true);
  ws_.async_accept(request, [self = shared_from_this()](const boost::system::error_code& ec) {
    self->OnAccepted(ec);
  });
}

void WsSession::OnAccepted(const boost::system::error_code& ec) {
  if (ec) {
    spdlog::debug("web client {}: WebSocket handshake failed: {}", id_, ec.message());
    Finish("handshake failed: " + ec.message());
    return;
  }
  state_ = State::kOpen;
  joined_ = true;
  core_.OnClientConnected(id_);
  hub_.Add(shared_from_this());
  spdlog::debug("web client {} connected", id_);
  ReadMore();
}

void WsSession::ReadMore() {
  ws_.async_read(read_buffer_, [self = shared_from_this()](const boost::system::error_code& ec,
                                                           std::size_t n) { self->OnRead(ec, n); });
}

void WsSession::OnRead(const boost::system::error_code& ec, std::size_t n) {
  if (ec == websocket::error::message_too_big) {
    // Beast has closed with code 1009 (too big).
    Finish("a frame larger than " + std::to_string(limits_.client.channel.max_line_bytes) +
           " bytes (router.max_line_bytes): closed with code 1009");
    return;
  }
  if (ec) {
    Finish(ec == websocket::error::closed ? "connection closed by the client"
                                          : "connection error: " + ec.message());
    return;
  }
  if (state_ != State::kOpen) return;
  if (!ws_.got_text()) {
    CloseWith(websocket::close_code::unknown_data,
              "binary frames are not accepted: send each command as one JSON text frame");
    return;
  }
  std::string line = beast::buffers_to_string(read_buffer_.data());
  read_buffer_.consume(n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  core_.OnClientLine(id_, line);
  if (state_ == State::kOpen) ReadMore();
}

void WsSession::Enqueue(std::shared_ptr<const std::string> bytes) {
  if (state_ != State::kOpen) return;
  const bool was_empty = queue_.empty();
  std::size_t begin = 0;
  while (begin < bytes->size()) {
    std::size_t end = bytes->find('\n', begin);
    if (end == std::string::npos) end = bytes->size();
    if (end > begin) queue_.push_back(Frame{bytes, {}, begin, end - begin});
    begin = end + 1;
  }
  queued_bytes_ += bytes->size();
  if (queued_bytes_ > limits_.client.channel.queue_bytes && !was_empty) {
    TooSlow(SlowPeer::kQueueFull);
    return;
  }
  WriteMore();
}

void WsSession::WriteMore() {
  if (writing_ || state_ == State::kClosed) return;
  if (queue_.empty()) {
    if (state_ == State::kClosing) SendCloseFrame();
    return;
  }
  writing_ = true;
  write_timer_.expires_after(limits_.client.channel.write_timeout);
  write_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && self->writing_ && self->state_ == State::kOpen) {
      self->TooSlow(SlowPeer::kWriteTimeout);
    }
  });
  std::string_view bytes = queue_.front().bytes();
  ws_.async_write(asio::buffer(bytes.data(), bytes.size()),
                  [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                    self->OnWritten(ec);
                  });
}

void WsSession::OnWritten(const boost::system::error_code& ec) {
  writing_ = false;
  write_timer_.cancel();
  if (ec) {
    Finish("connection error: " + ec.message());
    return;
  }
  if (!queue_.empty()) {
    const Frame& sent = queue_.front();
    queued_bytes_ -= std::min(queued_bytes_, sent.shared ? sent.size + 1 : std::size_t{0});
    queue_.pop_front();
  }
  WriteMore();
}

void WsSession::TooSlow(SlowPeer why) {
  constexpr const char kCatchUp[] =
      ", so it is disconnected and the events after the last one it read are not sent to it "
      "(reconnect and subscribe from the last seq to catch up)";
  if (why == SlowPeer::kQueueFull) {
    spdlog::warn("web client {} is not reading: {} bytes queued; disconnecting it", id_,
                 queued_bytes_);
    CloseWith(websocket::close_code::policy_error,
              "client too slow: more than " + std::to_string(limits_.client.channel.queue_bytes) +
                  " bytes of events were waiting for it" + kCatchUp);
  } else {
    const std::string seconds = Seconds(limits_.client.channel.write_timeout);
    spdlog::warn("web client {} took nothing for {} s; disconnecting it", id_, seconds);
    CloseWith(websocket::close_code::policy_error,
              "client too slow: it took none of the events waiting for it for " + seconds + " s" +
                  kCatchUp);
  }
}

void WsSession::CloseWithReason(const std::string& reason) {
  CloseWith(websocket::close_code::going_away, reason);
}

void WsSession::CloseWith(websocket::close_code code, const std::string& reason) {
  if (state_ != State::kOpen) return;
  state_ = State::kClosing;
  hub_.Remove(id_);
  // Keep the frame being written (a frame cannot be cut short), drop the rest.
  while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
  queued_bytes_ = 0;
  std::string closing = ClosingLine(clock_, reason);
  while (!closing.empty() && closing.back() == '\n') closing.pop_back();
  queue_.push_back(Frame{nullptr, std::move(closing), 0, 0});
  close_reason_ = websocket::close_reason(code, CloseFrameReason(reason));
  grace_timer_.expires_after(FromSeconds(limits_.client.slow_client_grace_seconds));
  grace_timer_.async_wait([self = shared_from_this(), reason](const boost::system::error_code& ec) {
    if (ec) return;
    boost::system::error_code ignored;
    beast::get_lowest_layer(self->ws_).socket().close(ignored);
    self->Finish(reason);
  });
  WriteMore();
}

void WsSession::SendCloseFrame() {
  if (close_sent_) return;
  close_sent_ = true;
  ws_.async_close(close_reason_, [self = shared_from_this()](const boost::system::error_code&) {
    // The read in flight ends (closed) once the client answers; Finish happens there or here.
    self->Finish(std::string(self->close_reason_.reason.c_str()));
  });
}

void WsSession::Finish(const std::string& reason) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  write_timer_.cancel();
  grace_timer_.cancel();
  boost::system::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
  if (!joined_) return;
  spdlog::debug("web client {} closed: {}", id_, reason);
  hub_.Remove(id_);
  core_.OnClientClosed(id_);
}

}  // namespace codeswarm::router
