// A TCP proxy on loopback for fault and privacy tests: sits between workers and the router,
// keeps every byte it carries in each direction, and can alter one byte or cut the connections.
// Runs on a thread of its own until destroyed.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace codeswarm::e2e {

class TcpProxy {
 public:
  // Listens on a free loopback port and forwards each connection to 127.0.0.1:target_port.
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // Flips the lowest bit of one byte of the upward (worker → router) stream, `after` bytes
  // from now. Once.
  void FlipUpstreamByteAfter(std::size_t after);
  // Closes every connection it carries now (new ones are still taken).
  void CutAll();

  // Everything carried so far: worker → router, router → worker.
  std::string upstream() const;
  std::string downstream() const;
  int connections() const { return connections_; }
  bool flipped() const { return flipped_; }

 private:
  void Run();

  const int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};  // pipe that wakes the thread (stop, cut)
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
  std::atomic<int> connections_{0};
  std::atomic<bool> flipped_{false};
  mutable std::mutex mu_;
  std::string upstream_;    // guarded by mu_
  std::string downstream_;  // guarded by mu_
  std::optional<std::size_t> flip_at_;  // guarded by mu_: an offset into upstream_
  std::thread thread_;
};

}  // namespace codeswarm::e2e
