// Fakes for RouterCore tests: a hand-driven executor, recording channels, a scripted provider.
#pragma once

#include <boost/json.hpp>

#include <concepts>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "provider/cluster_provider.h"
#include "router/channels.h"
#include "common/executor.h"
#include "support/manual_executor.h"

// Lets tests write EXPECT_EQ(data.at("swarm_id"), swarm_id) with a std::string.
namespace boost::json {
template <typename T>
  requires std::same_as<T, std::string>
bool operator==(const value& v, const T& s) {
  return v.is_string() && v.get_string() == s;
}
}  // namespace boost::json

namespace codeswarm::router::testing {

using codeswarm::test_support::ManualExecutor;

struct SentLine {
  std::optional<ClientId> to;  // nullopt: broadcast
  boost::json::object event;
};

class RecordingClients : public ClientChannel {
 public:
  void Broadcast(std::string lines) override {
    if (lines.empty() || lines.back() != '\n') throw std::runtime_error("line without newline");
    for (std::size_t begin = 0; begin < lines.size();) {
      const std::size_t end = lines.find('\n', begin) + 1;
      Record(std::nullopt, lines.substr(begin, end - begin));
      begin = end;
    }
  }
  void SendTo(ClientId client, std::string line) override { Record(client, line); }
  void Join(ClientId client, HeldLines held) override {
    joined_at.try_emplace(client, lines.size());
    if (held == HeldLines::kSend) sent_held.insert(client);
  }

  std::vector<SentLine> lines;
  // Per joined client: the index in `lines` from which it got the broadcasts.
  std::map<ClientId, std::size_t> joined_at;
  std::set<ClientId> sent_held;

  // What `client`, connected when `lines` had `connected_at` lines, received: the broadcasts
  // held for it (if it joined with kSend) and those after it joined, and the lines sent to it.
  // (In order, but for held broadcasts, which the real hub sends before anything after the join.)
  std::vector<boost::json::object> ReceivedBy(ClientId client, std::size_t connected_at) const {
    std::vector<boost::json::object> out;
    auto joined = joined_at.find(client);
    if (joined == joined_at.end()) return out;
    const std::size_t from = sent_held.contains(client) ? connected_at : joined->second;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const SentLine& l = lines[i];
      if (l.to == client || (!l.to && i >= from)) out.push_back(l.event);
    }
    return out;
  }

  // Events named `name`, in order.
  std::vector<boost::json::object> Events(const std::string& name) const {
    std::vector<boost::json::object> out;
    for (const SentLine& l : lines) {
      if (l.event.at("event").as_string() == name) out.push_back(l.event);
    }
    return out;
  }
  // "event" names in order, optionally only those of one node.
  std::vector<std::string> Names(std::optional<int> node = std::nullopt) const {
    std::vector<std::string> out;
    for (const SentLine& l : lines) {
      const auto& data = l.event.at("data").as_object();
      if (node) {
        const auto* n = data.if_contains("node_id");
        if (n == nullptr || n->as_int64() != *node) continue;
      }
      out.emplace_back(l.event.at("event").as_string());
    }
    return out;
  }
  boost::json::object Last(const std::string& name) const {
    auto all = Events(name);
    return all.empty() ? boost::json::object{} : all.back();
  }
  void Clear() { lines.clear(); }

 private:
  void Record(std::optional<ClientId> to, const std::string& line) {
    // Every line must be one valid JSON object ending in a newline.
    if (line.empty() || line.back() != '\n') throw std::runtime_error("line without newline");
    lines.push_back(SentLine{to, boost::json::parse(line).as_object()});
  }
};

class FakeWorkerConnection : public WorkerConnection {
 public:
  void Send(std::string line) override { sent.push_back(std::move(line)); }
  void Close(std::string_view reason) override {
    closed = true;
    close_reason = std::string(reason);
  }
  // Lines sent with this verb.
  std::vector<std::string> WithVerb(const std::string& verb) const {
    std::vector<std::string> out;
    for (const std::string& l : sent) {
      if (l.rfind(verb + " ", 0) == 0) out.push_back(l);
    }
    return out;
  }
  std::vector<std::string> sent;
  bool closed = false;
  std::string close_reason;
};

class FakeProvider : public provider::ClusterProvider {
 public:
  std::string_view name() const override { return "fake"; }
  Result<std::string> Launch(const provider::LaunchSpec& spec) override {
    launched.push_back(spec);
    if (launch_error) return *launch_error;
    std::string job = "job-" + spec.swarm_id;
    states[job] = provider::JobState{provider::JobPhase::kRunning, "RUNNING", "", false, {}};
    return job;
  }
  Status Terminate(const std::string& job_id) override {
    terminated.push_back(job_id);
    if (terminate_error) return *terminate_error;
    states[job_id] = provider::JobState{provider::JobPhase::kEnded, "CANCELLED", "", false, {}};
    return Status::Ok();
  }
  Result<std::map<std::string, provider::JobState>> JobStates(
      const std::vector<std::string>& job_ids) override {
    ++polls;
    std::map<std::string, provider::JobState> out;
    for (const std::string& id : job_ids) {
      auto it = states.find(id);
      out[id] = it != states.end() ? it->second
                                   : provider::JobState{provider::JobPhase::kEnded, "UNKNOWN",
                                                        "no such job", false, {}};
    }
    return out;
  }
  Result<std::map<std::string, provider::JobState>> ListActiveJobs() override {
    return std::map<std::string, provider::JobState>{};
  }
  Duration PollInterval() const override { return std::chrono::seconds(1); }

  std::vector<provider::LaunchSpec> launched;
  std::vector<std::string> terminated;
  std::optional<Status> launch_error;
  std::optional<Status> terminate_error;
  std::map<std::string, provider::JobState> states;
  int polls = 0;
};

}  // namespace codeswarm::router::testing
