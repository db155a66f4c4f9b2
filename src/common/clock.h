// Time: a Clock interface so that logic with timeouts can be tested with a hand-advanced clock,
// and ISO-8601 formatting for protocol timestamps.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace codeswarm {

using SteadyTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime Now() const = 0;
  // Milliseconds since the Unix epoch (wall clock).
  virtual int64_t WallMillis() const = 0;
};

// The real clocks. Thread-safe.
class SystemClock : public Clock {
 public:
  SteadyTime Now() const override;
  int64_t WallMillis() const override;
  static SystemClock& Get();
};

// A clock that moves only when told to. Not thread-safe.
class ManualClock : public Clock {
 public:
  SteadyTime Now() const override { return now_; }
  int64_t WallMillis() const override { return wall_millis_; }
  void Advance(Duration d);
  void SetWallMillis(int64_t ms) { wall_millis_ = ms; }

 private:
  SteadyTime now_{};
  int64_t wall_millis_ = 1795570000000;
};

// "2026-11-25T01:02:03.456Z"
std::string FormatIso8601(int64_t wall_millis);

// Formats timestamps quickly for a stream of events: the date/time part is cached per second.
// Not thread-safe.
class TimestampFormatter {
 public:
  const std::string& Format(int64_t wall_millis);

 private:
  int64_t cached_second_ = -1;
  std::string prefix_;  // "2026-11-25T01:02:03."
  std::string result_;
};

double ToSeconds(Duration d);
Duration FromSeconds(double seconds);

}  // namespace codeswarm
