// RelayLink: the router's end of the relay (relay/relay_main.h). Runs `ssh <login alias>
// codeswarm relay ...`, takes the relay's hello (its address, which the router then gives the
// workers), and turns every worker connection the relay announces into a local socket that the
// router serves like one it accepted itself: one end of a socketpair per channel, bridged to the
// mux, the other end handed to `on_connection`. The worker session (TLS, hello, heartbeats) is
// the same code either way, and a relay that dies takes its channels with it like dropped TCP
// connections.
//
// When the ssh session ends (network gone, laptop asleep, ssh killed), a new relay is started
// on the same port with a growing delay (1 s to 30 s): workers reconnect with their usual
// backoff and resend what was not acknowledged.
//
// Threading: Start() blocks (before the loop runs); everything else runs on the io_context's
// thread. Spawning and reaping ssh happen on `pool`.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "relay/mux_frame.h"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace codeswarm::relay {

struct RelayLinkOptions {
  // The argv (ssh ...) that runs the relay on the login node listening on `port` (0: any).
  std::function<Result<std::vector<std::string>>(int port)> command;
  // For log lines and errors: "login node hpc".
  std::string where;
  // The port the first relay asks for (0: any); later relays ask for the first one's.
  int port = 0;
  // How long the relay may take to say hello (ssh login included).
  double start_timeout_seconds = 30;
  // Channels at most (the relay bounds its side too).
  std::size_t max_channels = 4096;
};

class RelayLink {
 public:
  // Receives each worker connection: a connected stream socket (ownership passes) and the
  // worker's address as the relay saw it.
  using ConnectionHandler = std::function<void(int fd, const std::string& peer)>;

  // Borrows `io` and `pool`; they must outlive the link.
  static std::unique_ptr<RelayLink> Create(boost::asio::io_context& io,
                                           boost::asio::thread_pool& pool,
                                           RelayLinkOptions options, ConnectionHandler handler);
  virtual ~RelayLink() = default;

  // Starts the first relay and waits (blocking) for its hello. Returns the address workers
  // must dial, or why the relay could not start (ssh's own message included).
  virtual Result<HelloInfo> Start() = 0;
  // Ends the ssh session (the relay exits) and starts no other.
  virtual void Stop() = 0;
  // The pid of the ssh client carrying the current relay (for tests and log lines).
  virtual std::optional<pid_t> ssh_pid() const = 0;
};

}  // namespace codeswarm::relay
