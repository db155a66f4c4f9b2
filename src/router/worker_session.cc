#include "router/worker_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "common/channel_tls.h"
#include "protocol/line_framer.h"
#include "router/router_core.h"

namespace codeswarm::router {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class WorkerFramer : public protocol::LineFramer {
 public:
  using LineFramer::LineFramer;
};

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr const char kPing[] = "ping {}\n";
}  // namespace

WorkerSession::WorkerSession(tcp::socket socket, asio::ssl::context& tls, ConnId id,
                             RouterCore& core, const WorkerLimits& limits)
    : stream_(std::move(socket), tls),
      id_(id),
      core_(core),
      limits_(limits),
      framer_(std::make_unique<WorkerFramer>(limits.max_line_bytes)),
      last_heard_(std::chrono::steady_clock::now()),
      started_(last_heard_),
      tick_timer_(stream_.get_executor()) {
  boost::system::error_code ec;
  tcp::endpoint remote = stream_.next_layer().remote_endpoint(ec);
  peer_ = ec ? "unknown address" : remote.address().to_string() + ":" + std::to_string(remote.port());
}

WorkerSession::~WorkerSession() = default;

void WorkerSession::Start() {
  Tick();  // the hello time limit covers the handshake too
  Handshake();
}

void WorkerSession::Handshake() {
  tls::ChannelTls::RecordIdentity(stream_.native_handle(), &proven_swarm_);
  stream_.async_handshake(
      asio::ssl::stream_base::server, [self = shared_from_this()](const boost::system::error_code& ec) {
        if (self->finished_) return;
        if (!ec && (!tls::ChannelTls::UsedChannelKey(self->stream_.native_handle()) ||
                    self->proven_swarm_.empty())) {
          spdlog::warn("worker connection from {}: handshake without a known swarm key; closing",
                       self->peer_);
          self->Finish("no swarm key");
          return;
        }
        if (ec) {
          spdlog::warn("worker connection from {} refused: {}", self->peer_,
                       tls::DescribeTlsError(ec));
          self->Finish("handshake failed");
          return;
        }
        self->handshake_done_ = true;
        self->last_heard_ = std::chrono::steady_clock::now();
        self->core_.OnWorkerConnected(self->id_, self.get(), self->proven_swarm_);
        self->ReadMore();
      });
}

void WorkerSession::ReadMore() {
  auto area = framer_->Prepare(kReadChunk);
  stream_.async_read_some(
      asio::buffer(area.data(), area.size()),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (self->finished_) return;
        if (ec) {
          self->Finish(ec == asio::error::eof ? "connection closed by the worker"
                                              : "connection error: " + tls::DescribeTlsError(ec));
          return;
        }
        self->last_heard_ = std::chrono::steady_clock::now();
        self->framer_->Commit(n);
        while (auto item = self->framer_->Next()) {
          if (self->finished_ || self->closing_) return;
          if (item->kind == protocol::LineFramer::Item::Kind::kTooLong) {
            self->Finish("line longer than " + std::to_string(self->limits_.max_line_bytes) +
                         " bytes");
            return;
          }
          self->saw_first_line_ = true;
          self->core_.OnWorkerLine(self->id_, item->line);
        }
        if (self->finished_ || self->closing_) return;
        if (!self->saw_first_line_ && self->framer_->buffered() > self->limits_.hello_line_bytes) {
          self->Finish("hello line too long");
          return;
        }
        self->core_.OnWorkerBatchEnd(self->id_);
        self->ReadMore();
      });
}

void WorkerSession::Send(std::string line) {
  if (closing_ || finished_) return;
  if (queued_bytes_ + line.size() > limits_.queue_bytes) {
    Finish("worker is not reading (send queue full)");
    return;
  }
  queued_bytes_ += line.size();
  queue_.push_back(std::move(line));
  if (in_flight_ == 0) WriteMore();
}

void WorkerSession::Close(std::string_view reason) {
  if (closing_ || finished_) return;
  closing_ = true;
  close_reason_ = std::string(reason);
  if (in_flight_ == 0) WriteMore();
}

void WorkerSession::Abort() {
  aborted_ = true;
  Finish("router shutting down");
}

void WorkerSession::WriteMore() {
  if (finished_) return;
  if (queue_.empty()) {
    if (closing_) Finish(close_reason_);
    return;
  }
  // The SSL stream seals one buffer per record: join what waits into one write.
  if (queue_.size() > 1) {
    std::string joined;
    joined.reserve(queued_bytes_);
    for (const std::string& line : queue_) joined += line;
    queue_.clear();
    queue_.push_back(std::move(joined));
  }
  in_flight_ = 1;
  asio::async_write(stream_, asio::buffer(queue_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      for (std::size_t i = 0; i < self->in_flight_; ++i) {
                        self->queued_bytes_ -= self->queue_.front().size();
                        self->queue_.pop_front();
                      }
                      self->in_flight_ = 0;
                      if (ec) {
                        self->Finish("connection error: " + ec.message());
                        return;
                      }
                      self->WriteMore();
                    });
}

void WorkerSession::Tick() {
  if (finished_) return;
  auto now = std::chrono::steady_clock::now();
  if (!saw_first_line_ && now - started_ > FromSeconds(limits_.hello_timeout_seconds)) {
    Finish("no hello within the time limit");
    return;
  }
  if (now - last_heard_ > FromSeconds(limits_.timeout_seconds)) {
    Finish("no heartbeat from the worker for more than " +
           std::to_string(static_cast<int>(limits_.timeout_seconds)) + " s");
    return;
  }
  if (saw_first_line_) Send(kPing);
  tick_timer_.expires_after(FromSeconds(limits_.heartbeat_seconds));
  tick_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->Tick();
  });
}

void WorkerSession::Finish(const std::string& reason) {
  if (finished_) return;
  finished_ = true;
  boost::system::error_code ignored;
  tick_timer_.cancel();
  stream_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.next_layer().close(ignored);
  if (aborted_ || !handshake_done_) return;  // the core never heard of it
  // Told from a fresh handler, never from inside a call the core is making on this session.
  asio::post(stream_.get_executor(), [self = shared_from_this(), reason] {
    self->core_.OnWorkerDisconnected(self->id_, reason);
  });
}

}  // namespace codeswarm::router
