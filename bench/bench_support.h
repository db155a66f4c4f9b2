// What the benchmarks share: timing helpers, launching a swarm, and a client that only counts.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "e2e/harness.h"

namespace codeswarm::bench {

namespace json = boost::json;
using e2e::ProtocolClient;
using e2e::Str;
using Clock = std::chrono::steady_clock;

inline double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

inline bool Is(const json::object& e, const char* name) { return e.at("event") == name; }
inline std::string Field(const json::object& e, const char* key) { return Str(e.at("data").at(key)); }

inline std::string LaunchAndWait(ProtocolClient& client, int nodes) {
  std::string rid = client.Send("swarm_launch", {{"nodes", nodes}});
  std::string swarm = Field(client.Answer(rid), "swarm_id");
  for (int i = 0; i < nodes; ++i) {
    client.WaitFor([&](const json::object& e) { return Is(e, "node_connected"); });
  }
  return swarm;
}

// A client that only counts lines and turn_completes, so that the client is not the bottleneck.
class CountingClient {
 public:
  explicit CountingClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  ~CountingClient() { ::close(fd_); }
  // Reads until `completes` turn_complete lines have arrived; returns the lines read.
  uint64_t ReadUntil(int completes) {
    static const char kNeedle[] = "\"event\":\"turn_complete\"";
    std::vector<char> buf(1 << 20);
    std::string carry;
    uint64_t lines = 0;
    int seen = 0;
    while (seen < completes) {
      ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      carry.append(buf.data(), static_cast<std::size_t>(n));
      std::size_t start = 0, nl;
      while ((nl = carry.find('\n', start)) != std::string::npos) {
        ++lines;
        if (std::string_view(carry).substr(start, nl - start).find(kNeedle) != std::string_view::npos) ++seen;
        start = nl + 1;
      }
      carry.erase(0, start);
    }
    return lines;
  }

 private:
  int fd_;
};

}  // namespace codeswarm::bench
