// The local provider against real processes: terminating jobs, alone and among other calls.
#include "provider/local_provider.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "unit/local_provider_fixture.h"

namespace codeswarm::provider {
namespace {

using namespace local_test;  // NOLINT: the fixture and its helpers

TEST_F(LocalProviderTest, TerminateLeavesNoProcessAndNoZombie) {
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("s-term", 3));
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(WaitUntilReady("s-term", 3));
  std::vector<pid_t> pids = WorkerPids("s-term");

  auto start = steady_clock::now();
  ASSERT_TRUE(provider->Terminate(*job).ok());
  // Workers that obey SIGTERM do not wait out the grace period.
  EXPECT_LT(steady_clock::now() - start, milliseconds(1500));
  for (pid_t pid : pids) EXPECT_TRUE(Gone(pid)) << pid;
  EXPECT_FALSE(fs::exists(SwarmDir("s-term") / "job.json"));
  EXPECT_TRUE(fs::exists(SwarmDir("s-term") / "job.ended.json"));

  JobState state = StateOf(*provider, *job);
  EXPECT_EQ(state.phase, JobPhase::kEnded);
  EXPECT_EQ(state.reason, "terminated");
  Result<std::map<std::string, JobState>> active = provider->ListActiveJobs();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty());
  EXPECT_TRUE(provider->Terminate(*job).ok());  // again: already finished
}

TEST_F(LocalProviderTest, WorkerThatIgnoresSigtermIsKilledAfterTheGracePeriod) {
  config_.cluster.local.terminate_grace_seconds = 0.3;
  auto provider = NewProvider();
  Result<std::string> job = provider->Launch(Spec("stubborn", 2));
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(WaitUntilReady("stubborn", 2));  // the trap is set
  std::vector<pid_t> pids = WorkerPids("stubborn");

  auto start = steady_clock::now();
  ASSERT_TRUE(provider->Terminate(*job).ok());
  auto took = steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(3000));
  for (pid_t pid : pids) EXPECT_TRUE(Gone(pid)) << pid;
}

// The system's time, and a way to wait until somebody has asked for it. LocalProvider::Terminate
// first reads its clock to start the grace period, after it has signalled the workers and
// released its lock: a test that waits for that read knows the terminate is waiting.
class WatchedClock : public Clock {
 public:
  SteadyTime Now() const override {
    {
      std::lock_guard lock(mu_);
      ++reads_;
    }
    read_.notify_all();
    return SystemClock::Get().Now();
  }
  int64_t WallMillis() const override { return SystemClock::Get().WallMillis(); }

  int reads() const {
    std::lock_guard lock(mu_);
    return reads_;
  }
  // True once Now() has been called more than `reads` times in all; false after `timeout`.
  bool WaitForReadsBeyond(int reads, Duration timeout) const {
    std::unique_lock lock(mu_);
    return read_.wait_for(lock, timeout, [&] { return reads_ > reads; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable read_;
  mutable int reads_ = 0;  // guarded by mu_
};

TEST_F(LocalProviderTest, SlowTerminateDoesNotHoldUpCallsAboutOtherJobs) {
  config_.cluster.local.terminate_grace_seconds = 1;
  WatchedClock clock;
  auto provider = NewProvider(clock);
  ASSERT_TRUE(provider->Launch(Spec("stubborn-slow", 1)).ok());
  ASSERT_TRUE(provider->Launch(Spec("s-other", 1)).ok());
  ASSERT_TRUE(WaitUntilReady("stubborn-slow", 1));

  const int reads_before = clock.reads();
  std::atomic<bool> terminated{false};
  std::thread terminator([&] {
    EXPECT_TRUE(provider->Terminate("local-stubborn-slow").ok());
    terminated = true;
  });
  // Once the clock is read, the terminator has signalled and waits out its grace period (the
  // worker ignores SIGTERM).
  const bool waiting = clock.WaitForReadsBeyond(reads_before, std::chrono::seconds(10));
  EXPECT_TRUE(waiting) << "Terminate never started its grace period";
  if (waiting) {
    auto start = steady_clock::now();
    EXPECT_EQ(StateOf(*provider, "local-s-other").phase, JobPhase::kRunning);
    EXPECT_TRUE(provider->ListActiveJobs().ok());
    EXPECT_LT(steady_clock::now() - start, milliseconds(500));
    EXPECT_FALSE(terminated) << "the grace period was not waited out";
  }
  terminator.join();
  EXPECT_TRUE(provider->Terminate("local-s-other").ok());
}

TEST_F(LocalProviderTest, ConcurrentCallsWhileLaunchingAndTerminating) {
  config_.cluster.local.terminate_grace_seconds = 0.5;
  auto provider = NewProvider();
  constexpr int kJobs = 6;
  std::vector<std::string> job_ids;
  for (int i = 0; i < kJobs; ++i) job_ids.push_back("local-s-conc-" + std::to_string(i));

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  auto poll = [&] {
    while (!done) {
      if (!provider->JobStates(job_ids).ok()) ++failures;
      if (!provider->ListActiveJobs().ok()) ++failures;
    }
  };
  std::thread poller_a(poll);
  std::thread poller_b(poll);
  // Two launch/terminate streams over disjoint jobs, so terminates also overlap.
  auto churn = [&](int first) {
    for (int i = first; i < kJobs; i += 2) {
      if (!provider->Launch(Spec("s-conc-" + std::to_string(i), 2)).ok()) ++failures;
      if (!provider->Terminate(job_ids[i]).ok()) ++failures;
    }
  };
  std::thread churn_even(churn, 0);
  std::thread churn_odd(churn, 1);
  churn_even.join();
  churn_odd.join();
  done = true;
  poller_a.join();
  poller_b.join();

  EXPECT_EQ(failures, 0);
  Result<std::map<std::string, JobState>> states = provider->JobStates(job_ids);
  ASSERT_TRUE(states.ok());
  for (const auto& [job_id, state] : *states) EXPECT_EQ(state.phase, JobPhase::kEnded) << job_id;
}

}  // namespace
}  // namespace codeswarm::provider
