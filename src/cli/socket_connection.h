// The real LineConnection: TCP over plain POSIX sockets. The socket is non-blocking underneath so
// that every wait honours its deadline and Ctrl-C (poll() on the socket and the interrupt fd).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cli/dialer.h"
#include "cli/endpoint.h"
#include "cli/line_connection.h"
#include "common/clock.h"
#include "protocol/line_framer.h"

namespace codeswarm::cli {

// Incoming lines can be large (a swarm_list of many swarms with long system prompts).
inline constexpr std::size_t kMaxIncomingLineBytes = 64u << 20;

class SocketConnection : public LineConnection {
 public:
  // Resolves `endpoint` and connects to the first of its addresses that accepts within
  // `timeout`. Errors: Unavailable when every address refused (nobody listens there, so a
  // router may be started), Timeout, InvalidArgument when the host does not resolve, IoError for
  // anything else. `interrupt_fd` (or -1) is polled by every later read and write. Deadlines
  // are read on `clock` (borrowed; it must outlive the connection and advance on its own).
  static Result<std::unique_ptr<SocketConnection>> Connect(
      const Endpoint& endpoint, std::chrono::milliseconds timeout, int interrupt_fd,
      const Clock& clock = SystemClock::Get());
  SocketConnection(const SocketConnection&) = delete;
  SocketConnection& operator=(const SocketConnection&) = delete;
  ~SocketConnection() override;

  Status WriteLine(std::string_view line, SteadyTime deadline) override;
  ReadOutcome ReadLine(SteadyTime deadline) override;
  std::string PeerName() const override { return peer_.ToString(); }

 private:
  SocketConnection(int fd, Endpoint peer, int interrupt_fd, const Clock& clock);

  // Waits until `fd_` is ready for `events`. Returns 1 when ready, 0 on deadline, -1 when
  // interrupted.
  int WaitFor(short events, SteadyTime deadline);

  const int fd_;
  const Endpoint peer_;
  const int interrupt_fd_;
  const Clock& clock_;
  protocol::LineFramer framer_{kMaxIncomingLineBytes};
  bool closed_ = false;
  std::string close_reason_;
};

// Dials the router again after a lost connection. Never starts a router: the one that went away
// is restarted by whoever runs it, and a second one started here would race it for the port.
class SocketDialer : public Dialer {
 public:
  // `interrupt_fd` (or -1) ends a Pause early. `clock` is borrowed, as in Connect.
  SocketDialer(Endpoint endpoint, int interrupt_fd, const Clock& clock = SystemClock::Get())
      : endpoint_(std::move(endpoint)), interrupt_fd_(interrupt_fd), clock_(clock) {}

  Result<std::unique_ptr<LineConnection>> Dial(SteadyTime deadline) override;
  bool Pause(SteadyTime until) override;

 private:
  const Endpoint endpoint_;
  const int interrupt_fd_;
  const Clock& clock_;
};

}  // namespace codeswarm::cli
