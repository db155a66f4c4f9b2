#include "e2e/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e/harness.h"

#include <vector>

namespace codeswarm::e2e {

namespace {

int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = ListenLoopback(&port_);
  EXPECT_EQ(::pipe2(wake_, O_CLOEXEC | O_NONBLOCK), 0);
  thread_ = std::thread([this] { Run(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  (void)!::write(wake_[1], "x", 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void TcpProxy::FlipUpstreamByteAfter(std::size_t after) {
  std::lock_guard lock(mu_);
  flip_at_ = upstream_.size() + after;
}

void TcpProxy::CutAll() {
  cut_ = true;
  (void)!::write(wake_[1], "x", 1);
}

std::string TcpProxy::upstream() const {
  std::lock_guard lock(mu_);
  return upstream_;
}

std::string TcpProxy::downstream() const {
  std::lock_guard lock(mu_);
  return downstream_;
}

void TcpProxy::Run() {
  struct Pair {
    int worker;
    int router;
  };
  std::vector<Pair> pairs;
  auto close_pair = [](Pair& p) {
    ::close(p.worker);
    ::close(p.router);
    p.worker = p.router = -1;
  };
  char buffer[64 * 1024];
  while (!stop_) {
    if (cut_.exchange(false)) {
      for (Pair& p : pairs) close_pair(p);
      pairs.clear();
    }
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const Pair& p : pairs) {
      fds.push_back({p.worker, POLLIN, 0});
      fds.push_back({p.router, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
    if (fds[0].revents) {
      char drain[64];
      while (::read(wake_[0], drain, sizeof drain) > 0) {
      }
    }
    if (fds[1].revents & POLLIN) {
      int worker = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (worker >= 0) {
        int router = ConnectLoopback(target_port_);
        if (router < 0) {
          ::close(worker);
        } else {
          pairs.push_back({worker, router});
          ++connections_;
        }
      }
    }
    // Only the pairs polled this round (one accepted just now waits for the next).
    const std::size_t polled = (fds.size() - 2) / 2;
    for (std::size_t i = 0; i < polled; ++i) {
      for (int side = 0; side < 2; ++side) {
        const pollfd& pfd = fds[2 + 2 * i + side];
        if (pfd.revents == 0 || pairs[i].worker < 0) continue;
        const bool up = side == 0;
        ssize_t n = ::read(pfd.fd, buffer, sizeof buffer);
        if (n <= 0) {
          close_pair(pairs[i]);
          continue;
        }
        {
          std::lock_guard lock(mu_);
          std::string& log = up ? upstream_ : downstream_;
          if (up && flip_at_ && *flip_at_ >= log.size() &&
              *flip_at_ < log.size() + static_cast<std::size_t>(n)) {
            buffer[*flip_at_ - log.size()] ^= 0x01;
            flip_at_.reset();
            flipped_ = true;
          }
          log.append(buffer, static_cast<std::size_t>(n));
        }
        if (!WriteAll(up ? pairs[i].router : pairs[i].worker, buffer,
                      static_cast<std::size_t>(n))) {
          close_pair(pairs[i]);
        }
      }
    }
    std::erase_if(pairs, [](const Pair& p) { return p.worker < 0; });
  }
  for (Pair& p : pairs) close_pair(p);
}

}  // namespace codeswarm::e2e
