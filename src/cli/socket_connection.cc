#include "cli/socket_connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cli/interrupt.h"

namespace codeswarm::cli {
namespace {

using std::chrono::milliseconds;

// Milliseconds left until `deadline`, rounded up so that a poll never wakes just before it.
int MillisUntil(SteadyTime deadline, const Clock& clock) {
  auto left = deadline - clock.Now();
  if (left <= Duration::zero()) return 0;
  auto ms = std::chrono::ceil<milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

// Connects one resolved address. Returns the socket, or -1 with errno-style `*error` (ETIMEDOUT
// when the deadline passed).
int ConnectAddress(const addrinfo& address, SteadyTime deadline, const Clock& clock,
                   int* error) {
  int fd = ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    address.ai_protocol);
  if (fd < 0) {
    *error = errno;
    return -1;
  }
  if (::connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      *error = errno;
      ::close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, MillisUntil(deadline, clock));
    } while (rc < 0 && errno == EINTR);
    int so_error = 0;
    socklen_t length = sizeof so_error;
    if (rc == 0) {
      so_error = ETIMEDOUT;
    } else if (rc < 0) {
      so_error = errno;
    } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length) != 0) {
      so_error = errno;
    }
    if (so_error != 0) {
      *error = so_error;
      ::close(fd);
      return -1;
    }
  }
  int one = 1;
  // Commands are single small lines; Nagle would only delay them.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

Result<std::unique_ptr<SocketConnection>> SocketConnection::Connect(const Endpoint& endpoint,
                                                                    milliseconds timeout,
                                                                    int interrupt_fd,
                                                                    const Clock& clock) {
  const SteadyTime deadline = clock.Now() + timeout;
  const std::string where = "cannot connect to the router at " + endpoint.ToString();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  std::string port = std::to_string(endpoint.port);
  if (int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &addresses); rc != 0) {
    return Status::InvalidArgument(where + ": cannot resolve \"" + endpoint.host +
                                   "\": " + ::gai_strerror(rc));
  }
  bool all_refused = true;
  int last_error = 0;
  int fd = -1;
  for (addrinfo* a = addresses; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ConnectAddress(*a, deadline, clock, &last_error);
    if (fd < 0 && last_error != ECONNREFUSED) all_refused = false;
  }
  ::freeaddrinfo(addresses);
  if (fd >= 0) {
    return std::unique_ptr<SocketConnection>(new SocketConnection(fd, endpoint, interrupt_fd, clock));
  }
  if (all_refused) return Status::Unavailable(where + ": connection refused");
  if (last_error == ETIMEDOUT) {
    return Status::Timeout(where + ": no answer within " + std::to_string(timeout.count()) + " ms");
  }
  return Status::IoError(where + ": " + std::strerror(last_error));
}

SocketConnection::SocketConnection(int fd, Endpoint peer, int interrupt_fd, const Clock& clock)
    : fd_(fd), peer_(std::move(peer)), interrupt_fd_(interrupt_fd), clock_(clock) {}

SocketConnection::~SocketConnection() { ::close(fd_); }

int SocketConnection::WaitFor(short events, SteadyTime deadline) {
  while (true) {
    pollfd fds[2] = {{fd_, events, 0}, {interrupt_fd_, POLLIN, 0}};
    int rc = ::poll(fds, interrupt_fd_ >= 0 ? 2 : 1, MillisUntil(deadline, clock_));
    if (rc < 0 && errno != EINTR) return 1;  // let the read or write report the error
    if (InterruptPending(interrupt_fd_)) return -1;
    if (rc > 0) return 1;
    if (MillisUntil(deadline, clock_) == 0) return 0;
  }
}

Status SocketConnection::WriteLine(std::string_view line, SteadyTime deadline) {
  std::string buffer;
  buffer.reserve(line.size() + 1);
  buffer.append(line).push_back('\n');
  std::size_t sent = 0;
  while (sent < buffer.size()) {
    ssize_t n = ::send(fd_, buffer.data() + sent, buffer.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int ready = WaitFor(POLLOUT, deadline);
      if (ready == 0) return Status::Timeout("the router did not take the command in time");
      if (ready < 0) return Status::Unavailable("interrupted");
      continue;
    }
    return Status::IoError(std::string("cannot send to the router: ") + std::strerror(errno));
  }
  return Status::Ok();
}

ReadOutcome SocketConnection::ReadLine(SteadyTime deadline) {
  using Kind = ReadOutcome::Kind;
  while (true) {
    if (InterruptPending(interrupt_fd_)) return {Kind::kInterrupted, {}, {}};
    if (std::optional<protocol::LineFramer::Item> item = framer_.Next()) {
      if (item->kind == protocol::LineFramer::Item::Kind::kTooLong) return {Kind::kTooLong, {}, {}};
      return {Kind::kLine, std::string(item->line), {}};
    }
    if (closed_) return {Kind::kClosed, {}, close_reason_};
    int ready = WaitFor(POLLIN, deadline);
    if (ready < 0) return {Kind::kInterrupted, {}, {}};
    if (ready == 0) return {Kind::kTimeout, {}, {}};
    std::span<char> space = framer_.Prepare(64 * 1024);
    ssize_t n = ::recv(fd_, space.data(), space.size(), 0);
    if (n > 0) {
      framer_.Commit(static_cast<std::size_t>(n));
    } else if (n == 0) {
      closed_ = true;
      close_reason_ = framer_.buffered() > 0 ? "the router closed the connection mid-line"
                                             : "the router closed the connection";
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      closed_ = true;
      close_reason_ = std::strerror(errno);
    }
  }
}

Result<std::unique_ptr<LineConnection>> SocketDialer::Dial(SteadyTime deadline) {
  // One attempt waits no longer than a connect normally takes, so that the pauses between
  // attempts keep their rhythm when a router host stops answering altogether.
  const auto left = std::chrono::ceil<milliseconds>(deadline - clock_.Now());
  const milliseconds timeout = std::clamp(left, milliseconds(1), milliseconds(5000));
  Result<std::unique_ptr<SocketConnection>> connection =
      SocketConnection::Connect(endpoint_, timeout, interrupt_fd_, clock_);
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<LineConnection>(std::move(*connection));
}

bool SocketDialer::Pause(SteadyTime until) {
  while (true) {
    if (InterruptPending(interrupt_fd_)) return false;
    const int wait_ms = MillisUntil(until, clock_);
    if (wait_ms == 0) return true;
    pollfd p{interrupt_fd_, POLLIN, 0};
    ::poll(&p, interrupt_fd_ >= 0 ? 1 : 0, wait_ms);
  }
}

}  // namespace codeswarm::cli
