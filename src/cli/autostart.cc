#include "cli/autostart.h"

#include <poll.h>

#include <algorithm>
#include <deque>
#include <fstream>

#include "cli/interrupt.h"
#include "cli/render.h"
#include "common/subprocess.h"

namespace codeswarm::cli {
namespace {

using std::chrono::milliseconds;

std::string RouterLogPath(const AutostartOptions& options) {
  return options.state_dir + "/router.log";
}

Result<Subprocess> SpawnRouter(const AutostartOptions& options) {
  SpawnOptions spawn;
  spawn.argv = options.router_command.empty() ? std::vector<std::string>{SelfExecutablePath()}
                                              : options.router_command;
  spawn.argv.insert(spawn.argv.end(), {"router", "--log-file"});
  if (options.config_path) spawn.argv.insert(spawn.argv.end(), {"--config", *options.config_path});
  if (options.pass_endpoint) {
    spawn.argv.insert(spawn.argv.end(), {"--router", options.endpoint.ToString()});
  }
  // Its own session: the router outlives this CLI and ignores the terminal's Ctrl-C.
  spawn.new_session = true;
  spawn.stdin_mode = StdioMode::kNull;
  spawn.stdout_mode = StdioMode::kNull;
  spawn.stderr_mode = StdioMode::kNull;
  return Subprocess::Spawn(spawn);
}

// Sleeps up to `duration`, waking early on Ctrl-C. Returns false when interrupted.
bool SleepUnlessInterrupted(milliseconds duration, int interrupt_fd) {
  if (interrupt_fd < 0) {
    ::poll(nullptr, 0, static_cast<int>(duration.count()));
    return true;
  }
  pollfd p{interrupt_fd, POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(duration.count()));
  return !InterruptPending(interrupt_fd);
}

}  // namespace

std::string TailOfFile(const std::string& path, int max_lines) {
  std::ifstream in(path);
  if (!in) return "  (cannot read " + path + ")\n";
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (static_cast<int>(lines.size()) > max_lines) lines.pop_front();
  }
  if (lines.empty()) return "  (the log is empty)\n";
  std::string out;
  for (const std::string& line : lines) out += "  " + line + "\n";
  return out;
}

Result<std::unique_ptr<SocketConnection>> ConnectOrStartRouter(const AutostartOptions& options,
                                                               int interrupt_fd,
                                                               std::ostream& err) {
  const Clock& clock = *options.clock;
  Result<std::unique_ptr<SocketConnection>> first =
      SocketConnection::Connect(options.endpoint, options.connect_timeout, interrupt_fd, clock);
  if (first.ok() || !first.status().IsUnavailable()) return first;
  if (!options.allow_start) return first;
  if (!IsLoopbackHost(options.endpoint.host)) {
    return Status::Unavailable(first.status().message() +
                               " (a router is started automatically only on this machine; "
                               "run `codeswarm router` on " +
                               options.endpoint.host + ")");
  }

  const std::string log_path = RouterLogPath(options);
  Result<Subprocess> router = SpawnRouter(options);
  if (!router.ok()) {
    return router.status().WithPrefix("nobody listens on " + options.endpoint.ToString() +
                                      " and starting a router failed");
  }
  const SteadyTime deadline = clock.Now() + options.start_timeout;
  auto give_up_at = deadline;
  std::optional<ExitStatus> exited;
  while (true) {
    if (!SleepUnlessInterrupted(options.retry_interval, interrupt_fd)) {
      return Status::Unavailable("interrupted while waiting for the router to start");
    }
    Result<std::unique_ptr<SocketConnection>> connection =
        SocketConnection::Connect(options.endpoint, options.connect_timeout, interrupt_fd, clock);
    if (connection.ok()) {
      if (!exited) {
        err << "started router (pid " << router->pid() << ", log " << log_path << ")" << std::endl;
      }
      return connection;
    }
    if (!exited) {
      exited = router->TryWait();
      if (exited) give_up_at = std::min(deadline, clock.Now() + options.peer_grace);
    }
    if (clock.Now() < give_up_at) continue;
    if (exited) {
      std::string tail = TailOfFile(log_path, 10);
      tail.pop_back();  // the caller ends the message
      return Status::Unavailable("the router exited (" + exited->ToString() +
                                 ") before accepting connections; last lines of " + log_path +
                                 ":\n" + tail);
    }
    return Status::Timeout("started a router (pid " + std::to_string(router->pid()) +
                           ") but it did not accept connections on " + options.endpoint.ToString() +
                           " within " + FormatSeconds(options.start_timeout.count() / 1000.0) +
                           " s; see " + log_path);
  }
}

}  // namespace codeswarm::cli
