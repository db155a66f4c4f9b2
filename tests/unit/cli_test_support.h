// Test doubles for the CLI: a fake router on a real loopback socket, and a scripted in-memory
// LineConnection for outcomes a socket cannot produce on cue (Ctrl-C at a given point).
// Script lines may contain $RID, replaced by the request_id of the command the client sent.
// Both answer a `subscribe` at once with an empty replay (see SubscribeAnswer); the script
// answers the command after it.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/event.h"
#include "cli/line_connection.h"

namespace codeswarm::cli::testing {

inline std::string RequestIdOf(const std::string& command_line) {
  boost::json::error_code ec;
  boost::json::value value = boost::json::parse(command_line, ec);
  if (ec || !value.is_object()) return "";
  return std::string(StrField(value.get_object(), "request_id"));
}

inline std::string WithRequestId(std::string line, const std::string& request_id) {
  for (std::size_t at = line.find("$RID"); at != std::string::npos; at = line.find("$RID", at)) {
    line.replace(at, 4, request_id);
  }
  return line;
}

inline std::string CommandOf(const std::string& command_line) {
  boost::json::error_code ec;
  boost::json::value value = boost::json::parse(command_line, ec);
  if (ec || !value.is_object()) return "";
  return std::string(StrField(value.get_object(), "command"));
}

// The lines that answer a subscribe with `request_id` when there is nothing to replay.
inline std::vector<std::string> SubscribeAnswer(const std::string& request_id) {
  const std::string head = R"({"protocol":"codeswarm.router.v1","type":"event","timestamp":"t",)";
  return {head + R"("event":"subscribed","data":{"request_id":")" + request_id +
              R"(","since_seq":0,"head_seq":0,"replay_to_seq":0}})",
          head + R"("event":"replay_complete","data":{"request_id":")" + request_id +
              R"(","to_seq":0,"events":0}})"};
}

// Parses a literal event line. REQUIRES: it is one.
inline Event EventFrom(std::string_view line) {
  std::optional<Event> event = ParseEvent(line);
  if (!event) throw std::runtime_error("not an event line: " + std::string(line));
  return *event;
}

// Listens on 127.0.0.1 (ephemeral port), accepts one client, reads one command line, writes the
// script back, then closes the connection (or keeps it open until destroyed).
class FakeRouter {
 public:
  enum class End { kClose, kKeepOpen };

  explicit FakeRouter(std::vector<std::string> script, End end = End::kClose)
      : script_(std::move(script)), end_(end) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 4) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("fake router cannot listen");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~FakeRouter() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
    ::close(listen_fd_);
  }

  int port() const { return port_; }

  // The command line the client sent, subscribes aside (waits up to 5 s for it).
  std::string ReceivedCommand() {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(5), [this] { return command_.has_value(); });
    return command_.value_or("");
  }

 private:
  void Serve() {
    pollfd listening{listen_fd_, POLLIN, 0};
    if (::poll(&listening, 1, 5000) != 1) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    // A client that never finishes its line must not hang the test: reads give up after 5 s.
    timeval read_limit{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &read_limit, sizeof read_limit);
    std::string command;
    while (true) {
      command.clear();
      char c;
      while (::recv(fd, &c, 1, 0) == 1 && c != '\n') command.push_back(c);
      if (CommandOf(command) != "subscribe") break;
      for (const std::string& line : SubscribeAnswer(RequestIdOf(command))) {
        std::string out = line + "\n";
        ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      }
    }
    {
      std::lock_guard lock(mutex_);
      command_ = command;
    }
    changed_.notify_all();
    std::string request_id = RequestIdOf(command);
    for (const std::string& line : script_) {
      std::string out = WithRequestId(line, request_id) + "\n";
      ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    }
    if (end_ == End::kKeepOpen) {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stop_; });
    }
    ::close(fd);
  }

  const std::vector<std::string> script_;
  const End end_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<std::string> command_;  // guarded by mutex_
  bool stop_ = false;                   // guarded by mutex_
};

// Answers reads from a script: each entry is a line, or a non-line outcome (timeout, closed,
// interrupted). Past the end of the script, reads time out.
class ScriptedConnection : public LineConnection {
 public:
  explicit ScriptedConnection(std::vector<ReadOutcome> script)
      : script_(script.begin(), script.end()) {}

  static ReadOutcome Line(std::string line) {
    return {ReadOutcome::Kind::kLine, std::move(line), {}};
  }
  static ReadOutcome Interrupt() { return {ReadOutcome::Kind::kInterrupted, {}, {}}; }

  Status WriteLine(std::string_view line, SteadyTime) override {
    sent_.emplace_back(line);
    request_id_ = RequestIdOf(std::string(line));
    if (CommandOf(std::string(line)) == "subscribe") {
      std::vector<std::string> answer = SubscribeAnswer(request_id_);
      for (auto it = answer.rbegin(); it != answer.rend(); ++it) script_.push_front(Line(*it));
    }
    return Status::Ok();
  }

  ReadOutcome ReadLine(SteadyTime) override {
    if (script_.empty()) return {ReadOutcome::Kind::kTimeout, {}, {}};
    ReadOutcome next = std::move(script_.front());
    script_.pop_front();
    next.line = WithRequestId(std::move(next.line), request_id_);
    return next;
  }

  std::string PeerName() const override { return "scripted:0"; }
  const std::vector<std::string>& sent() const { return sent_; }

 private:
  std::deque<ReadOutcome> script_;
  std::vector<std::string> sent_;
  std::string request_id_;
};

}  // namespace codeswarm::cli::testing
