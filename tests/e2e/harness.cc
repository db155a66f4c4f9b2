#include "e2e/harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/json_reader.h"

namespace codeswarm::e2e {
namespace json = boost::json;
namespace fs = std::filesystem;

int ListenLoopback(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd, 64), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string Str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

// --- RouterProcess

RouterProcess::RouterProcess(const TempDir& dir, json::object config_overrides,
                             std::vector<std::pair<std::string, std::string>> env)
    : dir_(dir), port_(FreePort()), worker_port_(FreePort()), env_(std::move(env)) {
  json::object config = {
      {"router",
       {{"port", port_},
        {"worker_port", worker_port_},
        {"http_port", 0},  // no web UI unless a test asks: parallel routers would share 8767
        {"state_dir", dir.path() + "/state"},
        {"log_level", "debug"},
        {"heartbeat_seconds", 1},
        {"worker_timeout_seconds", 5},
        {"worker_orphan_seconds", 60}}},
      {"cluster",
       {{"backend", "local"},
        {"workspace_root", dir.path() + "/ws"},
        {"local", {{"poll_interval_seconds", 0.2}, {"terminate_grace_seconds", 2}}}}},
      {"agent", {{"kind", "mock"}}}};
  config = MergeJsonObjects(config, config_overrides);
  config_path_ = dir.path() + "/config.json";
  WriteFile(config_path_, json::serialize(config));
}

RouterProcess::~RouterProcess() {
  if (process_) Kill();
  // Workers outlive their router by design; a test's must not outlive the test.
  for (pid_t pid : ProcessesWithEnv("CODESWARM_ROUTER_ADDR=127.0.0.1:" + std::to_string(worker_port_))) {
    ::kill(-pid, SIGKILL);  // the worker's process group: it and its agent
    ::kill(pid, SIGKILL);
  }
}

void RouterProcess::Start() {
  SpawnOptions options;
  options.argv = {binary_, "--config", config_path_, "router"};
  options.env_overrides = env_;
  options.stdout_mode = StdioMode::kFile;
  options.stderr_mode = StdioMode::kFile;
  options.stdout_file = dir_.path() + "/router.out";
  options.stderr_file = dir_.path() + "/router.out";
  auto started = Subprocess::Spawn(options);
  ASSERT_TRUE(started.ok()) << started.status().message();
  process_ = std::move(*started);
  bool up = Eventually(
      [&] {
        if (process_->TryWait()) return true;
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port_));
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        return ok;
      },
      10s);
  ASSERT_TRUE(up && !process_->TryWait()) << "router did not start:\n" << log();
}

void RouterProcess::Stop() {
  if (!process_) return;
  process_->Signal(SIGTERM);
  auto status = process_->WaitFor(10s);
  EXPECT_TRUE(status.has_value()) << "router ignored SIGTERM";
  if (!status) {
    process_->Signal(SIGKILL);
    process_->Wait();
  } else {
    EXPECT_TRUE(status->success()) << "router exit: " << status->ToString() << "\n" << log();
  }
  process_.reset();
}

void RouterProcess::Kill() {
  if (!process_) return;
  process_->Signal(SIGKILL);
  process_->Wait();
  process_.reset();
}

bool RouterProcess::running() { return process_ && !process_->TryWait(); }

std::string RouterProcess::log() const { return ReadFile(dir_.path() + "/router.out"); }
std::string RouterProcess::state_dir() const { return dir_.path() + "/state"; }

// --- ProtocolClient

ProtocolClient::ProtocolClient(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "cannot connect to router on port " << port;
  }
}

ProtocolClient::~ProtocolClient() {
  if (fd_ >= 0) ::close(fd_);
}

void ProtocolClient::SendRaw(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      ADD_FAILURE() << "send failed";
      return;
    }
    off += static_cast<std::size_t>(n);
  }
}

std::string ProtocolClient::Send(const std::string& command, const json::object& payload) {
  std::string request_id = "t-" + std::to_string(++counter_);
  json::object envelope{{"protocol", "codeswarm.router.v1"},
                        {"type", "command"},
                        {"command", command},
                        {"request_id", request_id},
                        {"payload", payload}};
  SendRaw(json::serialize(envelope) + "\n");
  return request_id;
}

bool ProtocolClient::ReadSome(std::chrono::milliseconds timeout) {
  if (closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  // A caller's "time left" is negative when it was preempted past its deadline; to poll that is
  // to wait forever (a fault test hung in CI that way): not at all, then.
  const int timeout_ms = static_cast<int>(std::max<int64_t>(0, timeout.count()));
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  buffer_.append(buf, static_cast<std::size_t>(n));
  if (std::getenv("CODESWARM_TEST_TRACE") != nullptr) {
    std::fprintf(stderr, "client fd %d: received %zd bytes\n", fd_, n);
  }
  std::size_t start = 0, nl;
  while ((nl = buffer_.find('\n', start)) != std::string::npos) {
    std::string line = buffer_.substr(start, nl - start);
    start = nl + 1;
    json::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "router sent a line that is not a JSON object: " << line;
      continue;
    }
    events_.push_back(v.as_object());
  }
  buffer_.erase(0, start);
  return true;
}

json::object ProtocolClient::WaitFor(const std::function<bool(const json::object&)>& pred,
                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (; scanned_ < events_.size(); ++scanned_) {
      if (pred(events_[scanned_])) return events_[scanned_++];
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || closed_) break;
    ReadSome(left);
  }
  ADD_FAILURE() << "timed out waiting for an event; last events:\n" << [&] {
    std::string s;
    for (std::size_t i = events_.size() > 10 ? events_.size() - 10 : 0; i < events_.size(); ++i) {
      s += json::serialize(events_[i]) + "\n";
    }
    return s;
  }();
  return {};
}

json::object ProtocolClient::Answer(const std::string& request_id,
                                    std::chrono::milliseconds timeout) {
  scanned_ = 0;  // the answer may already be in
  return WaitFor(
      [&](const json::object& e) {
        const json::value* rid = e.at("data").as_object().if_contains("request_id");
        return rid != nullptr && rid->is_string() && rid->get_string() == request_id;
      },
      timeout);
}

void ProtocolClient::Drain(std::chrono::milliseconds window) {
  auto deadline = std::chrono::steady_clock::now() + window;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!ReadSome(left) && closed_) return;
  }
}

bool ProtocolClient::ClosedWithin(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_ && std::chrono::steady_clock::now() < deadline) ReadSome(100ms);
  return closed_;
}

std::vector<std::string> ProtocolClient::Sequence(const std::string& injection_id,
                                                  int node) const {
  std::vector<std::string> out;
  for (const json::object& e : events_) {
    const json::object& data = e.at("data").as_object();
    const json::value* inj = data.if_contains("injection_id");
    const json::value* n = data.if_contains("node_id");
    if (inj == nullptr || n == nullptr || !inj->is_string()) continue;
    if (inj->get_string() == injection_id && n->as_int64() == node) {
      out.emplace_back(e.at("event").as_string());
    }
  }
  return out;
}

// --- CLI and processes

CliResult RunCli(const std::string& config_path, const std::vector<std::string>& args,
                 std::chrono::seconds timeout, const std::string& stdin_data) {
  std::vector<std::string> argv = {CODESWARM_BINARY, "--config", config_path};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions options;
  options.timeout = timeout;
  options.stdin_data = stdin_data;
  auto r = RunCommand(argv, options);
  CliResult result;
  if (!r.ok()) {
    result.err = r.status().message();
    return result;
  }
  result.exit_code = r->timed_out ? -2 : (r->status.signal != 0 ? 128 + r->status.signal
                                                                 : r->status.code);
  result.out = r->stdout_text;
  result.err = r->stderr_text;
  return result;
}

std::optional<char> ProcessState(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return std::nullopt;
  return stat[paren + 2];
}

std::vector<ProcessInfo> ProcessesOfSwarm(const std::string& swarm_id) {
  std::vector<ProcessInfo> out;
  for (pid_t pid : ProcessesWithEnv("CODESWARM_SWARM_ID=" + swarm_id)) {
    if (auto state = ProcessState(pid)) out.push_back({pid, *state});
  }
  return out;
}

std::vector<pid_t> ProcessesWithEnv(const std::string& needle) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::string environ = ReadFile(entry.path().string() + "/environ");
    std::size_t start = 0;
    while (start < environ.size()) {
      std::size_t end = environ.find('\0', start);
      if (end == std::string::npos) end = environ.size();
      if (environ.compare(start, end - start, needle) == 0) {
        out.push_back(static_cast<pid_t>(std::stoi(name)));
        break;
      }
      start = end + 1;
    }
  }
  return out;
}

}  // namespace codeswarm::e2e
