#include "router/client_session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "common/clock.h"
#include "protocol/event_line.h"
#include "protocol/line_framer.h"
#include "router/router_core.h"

namespace codeswarm::router {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Keeps protocol/line_framer.h out of the session header.
class LineFramerHolder : public protocol::LineFramer {
 public:
  using LineFramer::LineFramer;
};

std::string ClosingLine(const std::string& reason) {
  std::string line;
  TimestampFormatter ts;
  protocol::AppendEventLine(line, std::nullopt, ts.Format(SystemClock::Get().WallMillis()),
                            "connection_closing",
                            boost::json::serialize(boost::json::object{{"reason", reason}}));
  return line;
}

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxBuffersPerWrite = 64;

}  // namespace

ClientSession::ClientSession(tcp::socket socket, ClientId id, RouterCore& core, ClientHub& hub,
                             const ClientLimits& limits)
    : socket_(std::move(socket)),
      id_(id),
      core_(core),
      hub_(hub),
      limits_(limits),
      framer_(std::make_unique<LineFramerHolder>(limits.max_line_bytes)),
      close_timer_(socket_.get_executor()) {}

ClientSession::~ClientSession() = default;

void ClientSession::Start() { ReadMore(); }

void ClientSession::ReadMore() {
  auto area = framer_->Prepare(kReadChunk);
  socket_.async_read_some(
      asio::buffer(area.data(), area.size()),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (ec) {
          self->Finish();
          return;
        }
        self->framer_->Commit(n);
        while (auto item = self->framer_->Next()) {
          if (self->finished_) return;
          if (item->kind == protocol::LineFramer::Item::Kind::kTooLong) {
            self->core_.OnClientLineTooLong(self->id_, self->limits_.max_line_bytes);
          } else {
            self->core_.OnClientLine(self->id_, item->line);
          }
        }
        if (!self->finished_ && !self->closing_) self->ReadMore();
      });
}

void ClientSession::Enqueue(std::shared_ptr<const std::string> bytes) {
  if (closing_ || finished_) return;
  // A batch bigger than the whole bound is still taken when nothing waits: the bound is on
  // what piles up, not on the size of one event.
  if (queued_bytes_ > 0 && queued_bytes_ + bytes->size() > limits_.queue_bytes) {
    spdlog::warn("client {} is not reading: {} bytes queued; disconnecting it", id_,
                 queued_bytes_);
    CloseWithReason("client too slow: more than " + std::to_string(limits_.queue_bytes) +
                    " bytes of events were waiting for it, so it is disconnected and the "
                    "events after the last one it read are not sent to it (reconnect and use "
                    "swarm_status to catch up)");
    return;
  }
  queued_bytes_ += bytes->size();
  queue_.push_back(std::move(bytes));
  spdlog::trace("client {}: queued {} bytes ({} waiting, {} in flight)", id_, queue_.back()->size(),
                queue_.size(), in_flight_);
  if (in_flight_ == 0) WriteMore();
}

void ClientSession::CloseWithReason(const std::string& reason) {
  if (closing_ || finished_) return;
  closing_ = true;
  hub_.Remove(id_);
  // Whatever is not already being written is dropped: the client gets the reason next.
  while (queue_.size() > in_flight_) {
    queued_bytes_ -= queue_.back()->size();
    queue_.pop_back();
  }
  auto line = std::make_shared<const std::string>(ClosingLine(reason));
  queued_bytes_ += line->size();
  queue_.push_back(std::move(line));
  close_timer_.expires_after(FromSeconds(limits_.slow_client_grace_seconds));
  close_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->Finish();  // it never took its last line
  });
  if (in_flight_ == 0) WriteMore();
}

void ClientSession::WriteMore() {
  if (finished_) return;
  if (queue_.empty()) {
    if (closing_) Finish();
    return;
  }
  std::vector<asio::const_buffer> buffers;
  in_flight_ = std::min(queue_.size(), kMaxBuffersPerWrite);
  for (std::size_t i = 0; i < in_flight_; ++i) buffers.push_back(asio::buffer(*queue_[i]));
  asio::async_write(socket_, buffers,
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                      spdlog::trace("client {}: wrote {} bytes: {}", self->id_, n, ec.message());
                      for (std::size_t i = 0; i < self->in_flight_; ++i) {
                        self->queued_bytes_ -= self->queue_.front()->size();
                        self->queue_.pop_front();
                      }
                      self->in_flight_ = 0;
                      if (ec) {
                        self->Finish();
                        return;
                      }
                      self->WriteMore();
                    });
}

void ClientSession::Finish() {
  if (finished_) return;
  finished_ = true;
  boost::system::error_code ignored;
  close_timer_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  hub_.Remove(id_);
}

ClientHub::ClientHub(asio::io_context& io) : io_(io) {}

void ClientHub::Add(std::shared_ptr<ClientSession> session) {
  Flush();  // a new client starts with the events after it connected
  sessions_[session->id()] = std::move(session);
}

void ClientHub::Remove(ClientId id) {
  if (iterating_) {
    removed_while_iterating_.push_back(id);
  } else {
    sessions_.erase(id);
  }
}

template <typename Fn>
void ClientHub::ForEachSession(Fn fn) {
  // Sessions may remove themselves (a slow client) while we walk the map.
  iterating_ = true;
  for (auto& [id, session] : sessions_) fn(*session);
  iterating_ = false;
  for (ClientId id : removed_while_iterating_) sessions_.erase(id);
  removed_while_iterating_.clear();
}

void ClientHub::CloseAll(const std::string& reason) {
  Flush();
  ForEachSession([&](ClientSession& session) { session.CloseWithReason(reason); });
}

void ClientHub::Broadcast(std::string line) {
  if (sessions_.empty()) return;
  batch_ += line;
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(io_, [this] {
      flush_posted_ = false;
      Flush();
    });
  }
}

void ClientHub::SendTo(ClientId client, std::string line) {
  Flush();  // keep its order after everything broadcast before it
  auto it = sessions_.find(client);
  if (it == sessions_.end()) return;
  it->second->Enqueue(std::make_shared<const std::string>(std::move(line)));
}

void ClientHub::Flush() {
  if (batch_.empty()) return;
  auto shared = std::make_shared<const std::string>(std::move(batch_));
  batch_.clear();
  spdlog::trace("flushing {} bytes to {} clients", shared->size(), sessions_.size());
  ForEachSession([&](ClientSession& session) { session.Enqueue(shared); });
}

}  // namespace codeswarm::router
