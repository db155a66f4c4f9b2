// An in-memory router for the CLI's following commands (attach, inject): a journal of broadcast
// events with seqs, connections that get them live, `subscribe` answered as docs/PROTOCOL.md
// says (the replay ends where the connection went live), and a script of events broadcast one
// at a time whenever a client read finds nothing waiting. It can "die" at a given read (every
// connection is lost, the journal is kept, seqs go on further ahead) and refuse the next dials.
// Single-threaded: the client's reads drive it.
#pragma once

#include <boost/json.hpp>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/dialer.h"
#include "cli/event.h"
#include "cli/line_connection.h"
#include "cli_test_support.h"
#include "common/clock.h"

namespace codeswarm::cli::testing {

class JournalRouter {
 public:
  // Where live events broadcast before a subscribe's answer arrive: ahead of the replay (what
  // the router documents) or behind it.
  enum class Seam { kLiveFirst, kReplayFirst };

  struct Options {
    Seam seam = Seam::kLiveFirst;
    // Scripted events broadcast as each connection is made, so that they reach it before its
    // subscribe is answered.
    int live_on_connect = 2;
    // A dead router's successor starts its seqs this far ahead.
    int64_t restart_seq_gap = 100;
    // Events up to this seq are no longer in the journal (events_pruned says so).
    int64_t pruned_through = 0;
    std::string swarm_status = "running";
  };

  explicit JournalRouter(Options options) : state_(std::make_shared<State>()) {
    state_->options = std::move(options);
  }

  // Broadcasts an event now: `data` is its JSON object text.
  void Broadcast(const std::string& name, const std::string& data) {
    state_->Broadcast(name, data);
  }

  // Events (name, data) broadcast one at a time when a read finds nothing waiting; "$RID" in
  // data is the request_id of the inject. They start when an inject arrives, or at once when
  // `at_once`.
  void Script(std::vector<std::pair<std::string, std::string>> events, bool at_once) {
    state_->script.assign(events.begin(), events.end());
    state_->script_started = at_once;
  }

  // The router dies as the client is about to read line number `read` (from 1), and refuses the
  // next `refused_dials` dials.
  void DieAtRead(int read, int refused_dials = 0) {
    state_->die_at_read = read;
    state_->refused_dials = refused_dials;
  }

  std::unique_ptr<LineConnection> Connect() {
    auto connection = std::make_unique<Connection>(state_);
    state_->open.push_back(connection->queue());
    for (int i = 0; i < state_->options.live_on_connect; ++i) state_->Advance();
    return connection;
  }

  int reads() const { return state_->reads; }
  int connections() const { return state_->connections; }
  const std::vector<std::string>& commands() const { return state_->commands; }

  // Dials this router; Pause moves `clock` to the end of the pause instead of sleeping.
  class FakeDialer : public Dialer {
   public:
    FakeDialer(JournalRouter& router, ManualClock& clock) : router_(router), clock_(clock) {}
    Result<std::unique_ptr<LineConnection>> Dial(SteadyTime) override {
      if (router_.state_->refused_dials > 0) {
        --router_.state_->refused_dials;
        return Status::Unavailable("connection refused");
      }
      return router_.Connect();
    }
    bool Pause(SteadyTime until) override {
      if (until > clock_.Now()) clock_.Advance(until - clock_.Now());
      ++pauses;
      return !interrupt_on_pause;
    }
    int pauses = 0;
    bool interrupt_on_pause = false;

   private:
    JournalRouter& router_;
    ManualClock& clock_;
  };

 private:
  using Queue = std::shared_ptr<std::deque<std::string>>;

  struct Journaled {
    int64_t seq;
    std::string swarm_id;
    std::string line;
  };

  struct State {
    Options options;
    int64_t head = 0;
    std::vector<Journaled> journal;
    std::vector<Queue> open;  // the live connections' incoming lines
    std::deque<std::pair<std::string, std::string>> script;
    bool script_started = false;
    std::string inject_request_id;
    int reads = 0;
    int die_at_read = 0;
    int refused_dials = 0;
    int connections = 0;
    std::vector<std::string> commands;

    void Broadcast(const std::string& name, const std::string& data) {
      const int64_t seq = ++head;
      boost::json::object data_object = boost::json::parse(data).as_object();
      std::string line = R"({"protocol":"codeswarm.router.v1","type":"event","seq":)" +
                         std::to_string(seq) + R"(,"timestamp":"t","event":")" + name +
                         R"(","data":)" + boost::json::serialize(data_object) + "}";
      journal.push_back({seq, std::string(StrField(data_object, "swarm_id")), line});
      for (const Queue& queue : open) queue->push_back(line);
    }

    // Broadcasts the next scripted event; false when there is none (yet).
    bool Advance() {
      if (!script_started || script.empty()) return false;
      auto [name, data] = script.front();
      script.pop_front();
      Broadcast(name, WithRequestId(data, inject_request_id));
      return true;
    }

    void Die() {
      open.clear();
      head += options.restart_seq_gap;
    }

    static std::string Answer(const std::string& name, const boost::json::object& data) {
      return R"({"protocol":"codeswarm.router.v1","type":"event","timestamp":"t","event":")" +
             name + R"(","data":)" + boost::json::serialize(data) + "}";
    }

    // The lines that answer `subscribe` on a connection that went live after `live_after`.
    std::vector<std::string> Subscribe(const boost::json::object& command, int64_t live_after) {
      const boost::json::object& payload = command.at("payload").as_object();
      const std::string request_id(StrField(command, "request_id"));
      const int64_t since = IntField(payload, "since_seq").value_or(0);
      const std::string swarm(StrField(payload, "swarm_id"));
      const int64_t replay_to = std::min(head, live_after);
      std::vector<std::string> lines;
      lines.push_back(Answer("subscribed", {{"request_id", request_id},
                                            {"since_seq", since},
                                            {"head_seq", head},
                                            {"replay_to_seq", replay_to}}));
      if (since < options.pruned_through && since < replay_to) {
        lines.push_back(Answer("events_pruned", {{"request_id", request_id},
                                                 {"from_seq", since + 1},
                                                 {"to_seq", options.pruned_through},
                                                 {"swarm_id", swarm}}));
      }
      int replayed = 0;
      for (const Journaled& event : journal) {
        if (event.seq <= since || event.seq > replay_to || event.seq <= options.pruned_through) {
          continue;
        }
        if (!swarm.empty() && event.swarm_id != swarm) continue;
        lines.push_back(event.line);
        ++replayed;
      }
      lines.push_back(
          Answer("replay_complete",
                 {{"request_id", request_id}, {"to_seq", replay_to}, {"events", replayed}}));
      return lines;
    }
  };

  class Connection : public LineConnection {
   public:
    explicit Connection(std::shared_ptr<State> state)
        : state_(std::move(state)),
          queue_(std::make_shared<std::deque<std::string>>()),
          live_after_(state_->head) {
      ++state_->connections;
    }

    Queue queue() const { return queue_; }

    Status WriteLine(std::string_view line, SteadyTime) override {
      if (!IsOpen()) return Status::IoError("broken pipe");
      state_->commands.emplace_back(line);
      boost::json::object command = boost::json::parse(line).as_object();
      const std::string name(StrField(command, "command"));
      const std::string request_id(StrField(command, "request_id"));
      if (name == "subscribe") {
        std::vector<std::string> lines = state_->Subscribe(command, live_after_);
        if (state_->options.seam == Seam::kLiveFirst) {
          queue_->insert(queue_->end(), lines.begin(), lines.end());
        } else {
          queue_->insert(queue_->begin(), lines.begin(), lines.end());
        }
      } else if (name == "swarm_status") {
        queue_->push_back(State::Answer("swarm_status", {{"request_id", request_id},
                                                         {"swarm_id", "s-1"},
                                                         {"job_id", "j"},
                                                         {"status", state_->options.swarm_status},
                                                         {"backend", "local"},
                                                         {"agent_kind", "mock"},
                                                         {"node_count", 2},
                                                         {"nodes_connected", 2},
                                                         {"created_at", "t"},
                                                         {"nodes", boost::json::array()}}));
      } else if (name == "inject") {
        state_->inject_request_id = request_id;
        state_->script_started = true;
      }
      return Status::Ok();
    }

    ReadOutcome ReadLine(SteadyTime) override {
      if (IsOpen() && queue_->empty()) state_->Advance();
      if (!IsOpen()) return {ReadOutcome::Kind::kClosed, {}, "the router closed the connection"};
      if (queue_->empty()) return {ReadOutcome::Kind::kTimeout, {}, {}};
      if (++state_->reads == state_->die_at_read) {
        state_->Die();
        return {ReadOutcome::Kind::kClosed, {}, "the router closed the connection"};
      }
      std::string line = std::move(queue_->front());
      queue_->pop_front();
      return {ReadOutcome::Kind::kLine, std::move(line), {}};
    }

    std::string PeerName() const override { return "memory:1"; }

   private:
    bool IsOpen() const {
      for (const Queue& queue : state_->open) {
        if (queue == queue_) return true;
      }
      return false;
    }

    const std::shared_ptr<State> state_;
    const Queue queue_;
    const int64_t live_after_;
  };

  std::shared_ptr<State> state_;
};

}  // namespace codeswarm::cli::testing
