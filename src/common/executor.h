// How a core (the router's, the worker's) gets work done off its own thread and later. The production
// implementation runs on the Asio event loop plus a small thread pool (server.cc); tests use a
// manual one that runs everything when told to.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "common/clock.h"

namespace codeswarm {

using TimerId = uint64_t;

class Executor {
 public:
  virtual ~Executor() = default;

  // Runs `work` on a pool thread (it may block, e.g. on sbatch over ssh), then `done` on the loop
  // thread. `work` must not touch loop-owned state.
  virtual void RunBlocking(std::function<void()> work, std::function<void()> done) = 0;

  // Runs `fn` on the loop thread after `delay`, unless cancelled first. Ids are never reused.
  virtual TimerId RunAfter(Duration delay, std::function<void()> fn) = 0;
  // Cancelling an unknown or already-run timer is a no-op.
  virtual void Cancel(TimerId id) = 0;

  // Runs `fn` on the loop thread after the current handler returns.
  virtual void Post(std::function<void()> fn) = 0;

  // Typed convenience: `work` returns a value that `done` receives on the loop thread.
  template <typename T>
  void RunBlockingValue(std::function<T()> work, std::function<void(T)> done) {
    auto result = std::make_shared<std::optional<T>>();
    RunBlocking([work = std::move(work), result] { result->emplace(work()); },
                [done = std::move(done), result] { done(std::move(**result)); });
  }
};

}  // namespace codeswarm
