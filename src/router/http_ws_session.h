// One WebSocket client of the web port: the client protocol over text frames, one v1 line per
// frame each way. To the hub it is a client like a TCP one (HubClient): the same queue bound,
// write time limit and grace, the same connection_closing line before the router closes it,
// followed here by a close frame whose code says why (1001 shutdown, 1003 binary frame,
// 1008 too slow, 1009 frame too large).
//
// Beast lives here: only http_server.cc includes this header.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <deque>
#include <memory>
#include <string>

#include "common/line_channel.h"
#include "router/http_server.h"

namespace codeswarm::router {

class WsSession : public HubClient, public std::enable_shared_from_this<WsSession> {
 public:
  // Borrows `core`, `hub` and `clock`; they must outlive the session.
  WsSession(boost::beast::tcp_stream stream, ClientId id, RouterCore& core, ClientHub& hub,
            const HttpLimits& limits, const Clock& clock);
  ~WsSession() override;
  // Answers the upgrade `request` (its Host and Origin already checked); once the handshake is
  // done the session joins the hub and the core as a new client.
  void Accept(boost::beast::http::request<boost::beast::http::string_body> request);

  ClientId id() const override { return id_; }
  void Enqueue(std::shared_ptr<const std::string> bytes) override;
  // The router is shutting down: close code 1001.
  void CloseWithReason(const std::string& reason) override;

 private:
  enum class State { kAccepting, kOpen, kClosing, kClosed };
  // One frame to send: a line of a shared batch (without its newline), or a line of our own.
  struct Frame {
    std::shared_ptr<const std::string> shared;
    std::string owned;
    std::size_t begin = 0;
    std::size_t size = 0;
    std::string_view bytes() const {
      return shared ? std::string_view(*shared).substr(begin, size) : std::string_view(owned);
    }
  };

  void OnAccepted(const boost::system::error_code& ec);
  void ReadMore();
  void OnRead(const boost::system::error_code& ec, std::size_t n);
  void WriteMore();
  void OnWritten(const boost::system::error_code& ec);
  void TooSlow(SlowPeer why);
  // Drops what waits, sends connection_closing with `reason`, then a close frame with `code`;
  // cut off after the grace period at the latest.
  void CloseWith(boost::beast::websocket::close_code code, const std::string& reason);
  void SendCloseFrame();
  // The connection is over (once): leaves the hub and tells the core.
  void Finish(const std::string& reason);

  // Constant after construction.
  const ClientId id_;
  RouterCore& core_;
  ClientHub& hub_;
  const HttpLimits limits_;
  const Clock& clock_;

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer read_buffer_;
  boost::asio::steady_timer write_timer_;
  boost::asio::steady_timer grace_timer_;
  State state_ = State::kAccepting;
  bool joined_ = false;  // the core and the hub know it
  std::deque<Frame> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool close_sent_ = false;
  boost::beast::websocket::close_reason close_reason_;
};

}  // namespace codeswarm::router
