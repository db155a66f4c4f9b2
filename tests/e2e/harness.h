// End-to-end test harness: runs the real `codeswarm` binary (router, workers, CLI) on loopback
// with a private config, state directory and ports.
#pragma once

#include <sys/types.h>

#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/run_command.h"
#include "common/subprocess.h"
#include "support/temp_dir.h"

namespace codeswarm::e2e {

using namespace std::chrono_literals;

using test_support::TempDir;

// A TCP port that was free a moment ago.
int FreePort();
// A listening socket on a free loopback port (written to `*port`); the caller closes it.
int ListenLoopback(int* port);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

// A router started from the real binary with its own config.
class RouterProcess {
 public:
  // `config_overrides` is merged into the generated config (router ports and state dir, local
  // backend). `env` is added to the router's (and so its workers') environment.
  explicit RouterProcess(const TempDir& dir, boost::json::object config_overrides = {},
                         std::vector<std::pair<std::string, std::string>> env = {});
  ~RouterProcess();

  // Runs `binary` instead of the build's codeswarm (e.g. the static one). Before Start().
  void UseBinary(std::string binary) { binary_ = std::move(binary); }
  // Starts and waits until it accepts clients.
  void Start();
  // SIGTERM and wait.
  void Stop();
  // SIGKILL and wait (a crash).
  void Kill();
  bool running();

  int port() const { return port_; }
  int worker_port() const { return worker_port_; }
  const std::string& config_path() const { return config_path_; }
  std::string log() const;
  std::string state_dir() const;

 private:
  const TempDir& dir_;
  int port_;
  int worker_port_;
  std::string config_path_;
  std::string binary_ = CODESWARM_BINARY;
  std::vector<std::pair<std::string, std::string>> env_;
  std::optional<Subprocess> process_;
};

// A raw protocol client: sends command lines, collects every event line.
class ProtocolClient {
 public:
  explicit ProtocolClient(int port);
  ~ProtocolClient();

  // Sends a command; returns its request id.
  std::string Send(const std::string& command, const boost::json::object& payload);
  void SendRaw(const std::string& bytes);

  // Reads events until `pred` holds for one of them (returned), or fails the test at timeout.
  boost::json::object WaitFor(const std::function<bool(const boost::json::object&)>& pred,
                              std::chrono::milliseconds timeout = 20s);
  // The answer to `request_id` (first event carrying it).
  boost::json::object Answer(const std::string& request_id,
                             std::chrono::milliseconds timeout = 20s);
  // Reads whatever arrives within `window`.
  void Drain(std::chrono::milliseconds window);
  // True when the router closed the connection (after reading everything it sent).
  bool ClosedWithin(std::chrono::milliseconds timeout);

  // Every event received so far, in order.
  const std::vector<boost::json::object>& events() const { return events_; }
  // Events about (swarm, node, injection), names in order.
  std::vector<std::string> Sequence(const std::string& injection_id, int node) const;
  int fd() const { return fd_; }

 private:
  bool ReadSome(std::chrono::milliseconds timeout);

  int fd_ = -1;
  int counter_ = 0;
  std::string buffer_;
  std::size_t scanned_ = 0;
  bool closed_ = false;
  std::vector<boost::json::object> events_;
};

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `codeswarm --config <config> <args...>`.
CliResult RunCli(const std::string& config_path, const std::vector<std::string>& args,
                 std::chrono::seconds timeout = std::chrono::seconds(60),
                 const std::string& stdin_data = "");

// The state letter of a process (R, S, Z, ...) or nullopt when there is no such process.
std::optional<char> ProcessState(pid_t pid);

// Live processes whose environment says CODESWARM_SWARM_ID=<swarm_id> (a zombie's environment
// cannot be read: check remembered pids with ProcessState).
struct ProcessInfo {
  pid_t pid;
  char state;  // from /proc/<pid>/stat: R, S, Z, ...
};
std::vector<ProcessInfo> ProcessesOfSwarm(const std::string& swarm_id);

// Pids of the processes whose environment holds the entry `needle` ("NAME=value").
std::vector<pid_t> ProcessesWithEnv(const std::string& needle);

// Polls `cond` every 20 ms until true or timeout; returns its last value.
bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 10s);

std::string Str(const boost::json::value& v);

}  // namespace codeswarm::e2e
