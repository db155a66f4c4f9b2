#include "common/clock.h"

#include <ctime>

namespace codeswarm {

SteadyTime SystemClock::Now() const { return std::chrono::steady_clock::now(); }

int64_t SystemClock::WallMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SystemClock& SystemClock::Get() {
  static SystemClock clock;
  return clock;
}

void ManualClock::Advance(Duration d) {
  now_ += d;
  wall_millis_ += std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

namespace {

std::string FormatSecondPrefix(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.", &tm);
  return buf;
}

void AppendMillis(std::string& out, int64_t millis) {
  out.push_back(static_cast<char>('0' + millis / 100));
  out.push_back(static_cast<char>('0' + millis / 10 % 10));
  out.push_back(static_cast<char>('0' + millis % 10));
  out.push_back('Z');
}

}  // namespace

std::string FormatIso8601(int64_t wall_millis) {
  std::string out = FormatSecondPrefix(wall_millis / 1000);
  AppendMillis(out, wall_millis % 1000);
  return out;
}

const std::string& TimestampFormatter::Format(int64_t wall_millis) {
  int64_t second = wall_millis / 1000;
  if (second != cached_second_) {
    cached_second_ = second;
    prefix_ = FormatSecondPrefix(second);
  }
  result_ = prefix_;
  AppendMillis(result_, wall_millis % 1000);
  return result_;
}

double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

Duration FromSeconds(double seconds) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

}  // namespace codeswarm
