#include "router/worker_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

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

WorkerSession::WorkerSession(tcp::socket socket, ConnId id, RouterCore& core,
                             const WorkerLimits& limits)
    : socket_(std::move(socket)),
      id_(id),
      core_(core),
      limits_(limits),
      framer_(std::make_unique<WorkerFramer>(limits.max_line_bytes)),
      last_heard_(std::chrono::steady_clock::now()),
      started_(last_heard_),
      tick_timer_(socket_.get_executor()) {}

WorkerSession::~WorkerSession() = default;

void WorkerSession::Start() {
  core_.OnWorkerConnected(id_, this);
  ReadMore();
  Tick();
}

void WorkerSession::ReadMore() {
  auto area = framer_->Prepare(kReadChunk);
  socket_.async_read_some(
      asio::buffer(area.data(), area.size()),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (self->finished_) return;
        if (ec) {
          self->Finish(ec == asio::error::eof ? "connection closed by the worker"
                                              : "connection error: " + ec.message());
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
  std::vector<asio::const_buffer> buffers;
  in_flight_ = std::min<std::size_t>(queue_.size(), 64);
  for (std::size_t i = 0; i < in_flight_; ++i) buffers.push_back(asio::buffer(queue_[i]));
  asio::async_write(socket_, buffers,
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
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  if (aborted_) return;
  // Told from a fresh handler, never from inside a call the core is making on this session.
  asio::post(socket_.get_executor(), [self = shared_from_this(), reason] {
    self->core_.OnWorkerDisconnected(self->id_, reason);
  });
}

}  // namespace codeswarm::router
