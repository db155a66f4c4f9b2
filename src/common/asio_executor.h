// Executor on an Asio io_context (the loop) plus a thread pool (blocking work).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <map>
#include <memory>

#include "common/executor.h"

namespace codeswarm {

class AsioExecutor : public Executor {
 public:
  // Borrows both; they must outlive this object.
  AsioExecutor(boost::asio::io_context& io, boost::asio::thread_pool& pool);

  void RunBlocking(std::function<void()> work, std::function<void()> done) override;
  TimerId RunAfter(Duration delay, std::function<void()> fn) override;
  void Cancel(TimerId id) override;
  void Post(std::function<void()> fn) override;

 private:
  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  TimerId next_id_ = 1;
  std::map<TimerId, std::unique_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace codeswarm
