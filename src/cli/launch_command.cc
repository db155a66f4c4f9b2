#include <boost/json.hpp>

#include <set>
#include <vector>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/render.h"

namespace codeswarm::cli {
namespace {

// Events that arrive before the launch answer cannot be told apart yet (the swarm id comes with
// the answer), so they are kept, up to this many, and replayed once it is known.
constexpr std::size_t kMaxEarlyEvents = 10000;

bool IsProgressEvent(std::string_view name) {
  return name == "swarm_update" || name == "node_connected" || name == "node_disconnected" ||
         name == "node_lost" || name == "swarm_terminated";
}

// Follows a launched swarm until every node is connected or the swarm ends.
class LaunchProgress {
 public:
  enum class State { kWaiting, kAllConnected, kEnded };

  LaunchProgress(std::string swarm_id, int64_t node_count, Output& output)
      : swarm_id_(std::move(swarm_id)), node_count_(node_count), output_(output) {}

  void OnEvent(const Event& event) {
    if (state_ != State::kWaiting || event.Str("swarm_id") != swarm_id_ ||
        !IsProgressEvent(event.name)) {
      return;
    }
    output_.Emit(event);
    std::optional<int64_t> node = event.Int("node_id");
    if (event.name == "node_connected" && node) {
      connected_.insert(*node);
      output_.human() << "nodes connected " << connected_.size() << "/" << node_count_ << "\n";
    } else if ((event.name == "node_disconnected" || event.name == "node_lost") && node) {
      connected_.erase(*node);
      output_.human() << "node " << *node
                      << (event.name == "node_lost" ? " lost: " : " disconnected: ")
                      << event.Str("reason") << "\n";
    } else if (event.name == "swarm_update") {
      status_ = FormatSwarmUpdate(event.data);
      output_.human() << status_ << "\n";
      if (IsFinalSwarmStatus(event.Str("status"))) {
        End(std::string(event.Str("status")), event.Str("reason"), event.Str("backend_state"));
        return;
      }
      if (event.Int("nodes_connected").value_or(0) >= node_count_) {
        state_ = State::kAllConnected;
      }
    } else if (event.name == "swarm_terminated") {
      End("terminated", "", "");
      return;
    }
    if (static_cast<int64_t>(connected_.size()) >= node_count_) state_ = State::kAllConnected;
  }

  State state() const { return state_; }
  const std::string& end_message() const { return end_message_; }

  // "nodes connected 2/4; last update: swarm s-1 pending (PENDING: Resources)"
  std::string Progress() const {
    std::string text =
        "nodes connected " + std::to_string(connected_.size()) + "/" + std::to_string(node_count_);
    if (!status_.empty()) text += "; last update: " + status_;
    return text;
  }

 private:
  void End(const std::string& status, std::string_view reason, std::string_view backend_state) {
    state_ = State::kEnded;
    end_message_ = "swarm " + swarm_id_ + " " + status + " before all nodes connected";
    std::string_view why = !reason.empty() ? reason : backend_state;
    if (!why.empty()) end_message_ += ": " + std::string(why);
  }

  const std::string swarm_id_;
  const int64_t node_count_;
  Output& output_;
  State state_ = State::kWaiting;
  std::set<int64_t> connected_;
  std::string status_;
  std::string end_message_;
};

}  // namespace

int Launch(Client& client, Output& output, const LaunchRequest& request) {
  const SteadyTime deadline = DeadlineIn(request.timeout_seconds);
  boost::json::object payload = {{"nodes", request.nodes},
                                 {"system_prompt", request.system_prompt}};
  if (request.agent) payload["agent"] = *request.agent;

  std::vector<Event> early_events;
  auto keep_early = [&](Event&& event) {
    if (request.wait && IsProgressEvent(event.name) && early_events.size() < kMaxEarlyEvents) {
      early_events.push_back(std::move(event));
    }
  };
  Answer answer =
      Request(client, output, "swarm_launch", payload, request.timeout_seconds, keep_early);
  if (!answer.event) return answer.exit_code;

  const Event& launched = *answer.event;
  const std::string swarm_id(launched.Str("swarm_id"));
  const int64_t node_count = launched.Int("node_count").value_or(request.nodes);
  output.human() << "launched swarm " << swarm_id << ": " << node_count
                 << (node_count == 1 ? " node" : " nodes") << ", job " << launched.Str("job_id")
                 << " (backend " << launched.Str("backend") << ", agent "
                 << launched.Str("agent_kind") << ")\n"
                 << "inject with: codeswarm inject " << swarm_id << " --prompt \"...\"\n";
  // A queued batch job may wait long without any update: say at once what it waits for.
  if (launched.Str("status") == "pending") {
    output.human() << FormatSwarmUpdate(launched.data) << "\n";
  }
  if (!request.wait) return kExitOk;

  LaunchProgress progress(swarm_id, node_count, output);
  for (const Event& event : early_events) progress.OnEvent(event);
  while (progress.state() == LaunchProgress::State::kWaiting) {
    output.Flush();
    Received received = client.Next(deadline);
    if (received.kind == Received::Kind::kEvent) {
      progress.OnEvent(received.event);
    } else if (received.kind == Received::Kind::kTimeout) {
      output.Error("gave up waiting after " + FormatSeconds(request.timeout_seconds) +
                   " s: " + progress.Progress() +
                   " (the swarm keeps running; see: codeswarm status " + swarm_id + ")");
      return kExitFailed;
    } else {
      return ReportUnfinishedWait(received, client, output, "swarm_launch",
                                  request.timeout_seconds);
    }
  }
  if (progress.state() == LaunchProgress::State::kEnded) {
    output.Error(progress.end_message());
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace codeswarm::cli
