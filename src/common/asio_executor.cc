#include "common/asio_executor.h"

#include <boost/asio/post.hpp>

namespace codeswarm {

AsioExecutor::AsioExecutor(boost::asio::io_context& io, boost::asio::thread_pool& pool)
    : io_(io), pool_(pool) {}

void AsioExecutor::RunBlocking(std::function<void()> work, std::function<void()> done) {
  boost::asio::post(pool_, [this, work = std::move(work), done = std::move(done)]() mutable {
    work();
    boost::asio::post(io_, std::move(done));
  });
}

TimerId AsioExecutor::RunAfter(Duration delay, std::function<void()> fn) {
  TimerId id = next_id_++;
  auto timer = std::make_unique<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled
    timers_.erase(id);
    fn();
  });
  timers_[id] = std::move(timer);
  return id;
}

void AsioExecutor::Cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  // Destroying the timer cancels its wait; the handler then runs with operation_aborted and
  // touches nothing of the timer.
  timers_.erase(it);
}

void AsioExecutor::Post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

}  // namespace codeswarm
