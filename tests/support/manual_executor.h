// An Executor that runs nothing until told, with a clock that moves only with it: the fake every
// core test drives by hand. Not thread-safe: tests call it from their own thread.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <vector>

#include "common/clock.h"
#include "common/executor.h"

namespace codeswarm::test_support {

// RunPending() runs blocking work and posted callbacks; Advance() moves time (clock() with it)
// and fires due timers in order.
class ManualExecutor : public Executor {
 public:
  void RunBlocking(std::function<void()> work, std::function<void()> done) override {
    pending_.push_back([work = std::move(work), done = std::move(done)] {
      work();
      done();
    });
  }
  TimerId RunAfter(Duration delay, std::function<void()> fn) override {
    TimerId id = next_id_++;
    timers_[id] = Timer{clock_.Now() + delay, std::move(fn)};
    return id;
  }
  void Cancel(TimerId id) override { timers_.erase(id); }
  void Post(std::function<void()> fn) override { pending_.push_back(std::move(fn)); }

  void RunPending() {
    while (!pending_.empty()) {
      auto fn = std::move(pending_.front());
      pending_.erase(pending_.begin());
      fn();
    }
  }
  // Moves time forward, firing timers (and whatever they queue) in order.
  void Advance(Duration d) {
    const SteadyTime end = clock_.Now() + d;
    while (true) {
      RunPending();
      auto due = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (it->second.at <= end && (due == timers_.end() || it->second.at < due->second.at)) due = it;
      }
      if (due == timers_.end()) break;
      if (due->second.at > clock_.Now()) clock_.Advance(due->second.at - clock_.Now());
      auto fn = std::move(due->second.fn);
      timers_.erase(due);
      fn();
    }
    clock_.Advance(end - clock_.Now());
  }

  // Drops every timer and posted callback, as a process that dies takes its own with it: what a
  // test does before it starts a new core in place of one it destroyed.
  void DropAll() {
    timers_.clear();
    pending_.clear();
  }

  // The time this executor's timers run on.
  const Clock& clock() const { return clock_; }
  std::size_t pending_timers() const { return timers_.size(); }

 private:
  struct Timer {
    SteadyTime at;
    std::function<void()> fn;
  };
  ManualClock clock_;
  TimerId next_id_ = 1;
  std::map<TimerId, Timer> timers_;
  std::vector<std::function<void()>> pending_;
};

}  // namespace codeswarm::test_support
