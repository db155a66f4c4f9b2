// ProcessAgent's own decisions (handshake deadline, when an interrupt goes out, lines that are
// not JSON) with a small protocol spoken by /bin/sh stand-ins; codex and claude speak through
// the same code (tests/unit/claude_agent_test.cc, tests/e2e/agents_*).
#include "worker/process_agent.h"

#include <signal.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <functional>
#include <thread>

#include "common/clock.h"
#include "support/temp_dir.h"
#include "unit/recording_sink.h"
#include "worker/json_fields.h"

namespace codeswarm::worker {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// A turn of the stand-ins' protocol: {"prompt":...} out; {"turn":...} names the turn (only then
// can it be interrupted, like codex's), {"text":...} is a delta, {"done":"completed"} or
// {"done":"interrupted"} ends it; the interrupt is {"interrupt":<the turn's name>}. `on_begin`
// runs once the prompt went out.
class LineTurn : public ProcessAgent::Turn {
 public:
  LineTurn(AgentChannel& channel, const TurnRequest& request, TurnSink& sink,
           std::function<void()> on_begin)
      : channel_(channel), prompt_(request.prompt), sink_(sink), on_begin_(std::move(on_begin)) {}

  Status Begin() override {
    Status sent = channel_.Send(json::serialize(json::object{{"prompt", prompt_}}));
    if (on_begin_) on_begin_();
    return sent;
  }
  bool CanInterrupt() const override { return !name_.empty(); }
  Status SendInterrupt() override {
    return channel_.Send(json::serialize(json::object{{"interrupt", name_}}));
  }
  std::optional<TurnOutcome> OnMessage(const json::object& message) override {
    if (message.contains("turn")) name_ = StringAt(message, "turn");
    if (message.contains("text")) sink_.Delta(StringAt(message, "text"));
    std::string_view done = StringAt(message, "done");
    if (done == "completed") return TurnOutcome::Completed();
    if (done == "interrupted") return TurnOutcome::Interrupted("interrupted by request");
    return std::nullopt;
  }

 private:
  AgentChannel& channel_;
  const std::string prompt_;
  TurnSink& sink_;
  std::function<void()> on_begin_;
  std::string name_;
};

// Handshake: {"hello":true} out, {"welcome":true} back. `before_await` runs between the two.
class LineProtocol : public ProcessAgent::Protocol {
 public:
  Status Handshake(AgentChannel& channel, const AgentContext&, SteadyTime deadline) override {
    if (!channel.Send(R"({"hello":true})").ok()) return Status::Unavailable("gone");
    if (before_await) before_await();
    return channel.Await("hello", deadline, [](const json::object& m) -> std::optional<Status> {
      if (m.contains("welcome")) return Status::Ok();
      return std::nullopt;
    });
  }
  std::unique_ptr<ProcessAgent::Turn> NewTurn(AgentChannel& channel, const TurnRequest& turn,
                                              TurnSink& sink) override {
    return std::make_unique<LineTurn>(channel, turn, sink, on_begin);
  }

  std::function<void()> before_await;
  std::function<void()> on_begin;
};

class ProcessAgentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }  // as in the worker
  ProcessAgentTest() { context_.work_dir = tmp_.path(); }

  // An agent named "fake" that runs `script` under /bin/sh; `protocol` stays readable.
  std::unique_ptr<Agent> Make(const std::string& script, const Clock& clock) {
    auto protocol = std::make_unique<LineProtocol>();
    protocol_ = protocol.get();
    ProcessAgent::Options options{
        "fake",
        [script](const AgentContext& context, const std::string& stderr_path) {
          return AgentSpawnOptions({"/bin/sh", "-c", script}, context.work_dir, stderr_path);
        },
        60s, 10s, 1s};
    return std::make_unique<ProcessAgent>(std::move(options), std::move(protocol), clock);
  }

  test_support::TempDir tmp_{"cs-process-agent"};
  AgentContext context_;
  LineProtocol* protocol_ = nullptr;
};

// Answers the handshake, then each prompt with a line that is not JSON, the turn's name, a
// delta and, unless it is "wait", the end. An interrupt naming the turn ends it interrupted;
// one that does not (sent too early) ends it completed.
constexpr const char* kStandIn = R"(
read -r hello; echo '{"welcome":true}'
while read -r line; do
  case "$line" in
    *'"interrupt":"t1"'*) echo '{"done":"interrupted"}' ;;
    *'"interrupt"'*) echo '{"done":"completed"}' ;;
    *'"wait"'*) echo 'not json'; echo '{"turn":"t1"}'; echo '{"text":"hi"}' ;;
    *) echo 'not json'; echo '{"turn":"t1"}'; echo '{"text":"hi"}'; echo '{"done":"completed"}' ;;
  esac
done)";

TEST_F(ProcessAgentTest, LinesThatAreNotJsonAreSkipped) {
  std::unique_ptr<Agent> agent = Make(kStandIn, SystemClock::Get());
  ASSERT_TRUE(agent->Start(context_).ok());
  RecordingSink sink;
  TurnOutcome outcome = agent->RunTurn({"i-1", "hello", 1}, sink);
  EXPECT_EQ(outcome.status, TurnOutcome::Status::kCompleted) << outcome.error;
  EXPECT_EQ(sink.deltas, std::vector<std::string>{"hi"});
}

TEST_F(ProcessAgentTest, UnansweredHandshakeFailsAtTheClocksDeadlineAndSoDoesEveryTurn) {
  ManualClock clock;
  std::unique_ptr<Agent> agent = Make("echo 'starting' >&2; cat >/dev/null", clock);
  // The clock passes the deadline once the request went out and the stand-in has said what it
  // says on stderr: no real minute goes by.
  protocol_->before_await = [&] {
    const std::string stderr_log = context_.work_dir + "/fake.stderr.log";
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (StderrTail(stderr_log).empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    clock.Advance(60s);
  };
  Status started = agent->Start(context_);
  EXPECT_TRUE(started.IsTimeout()) << started.message();
  EXPECT_EQ(started.message(),
            "fake did not answer hello within 60 s and was killed; last stderr: starting");
  RecordingSink sink;
  TurnOutcome outcome = agent->RunTurn({"i-1", "hello", 1}, sink);
  EXPECT_EQ(outcome.status, TurnOutcome::Status::kFailed);
  EXPECT_EQ(outcome.error, started.message());
}

TEST_F(ProcessAgentTest, InterruptGoesOutOnceTheTurnCanTakeIt) {
  std::unique_ptr<Agent> agent = Make(kStandIn, SystemClock::Get());
  ASSERT_TRUE(agent->Start(context_).ok());
  // Requested before the stand-in named the turn: it goes out, naming the turn, once the
  // stand-in did.
  protocol_->on_begin = [&] { agent->Interrupt(); };
  RecordingSink sink;
  TurnOutcome outcome = agent->RunTurn({"i-1", "wait", 1}, sink);
  EXPECT_EQ(outcome.status, TurnOutcome::Status::kInterrupted) << outcome.error;
  EXPECT_EQ(outcome.error, "interrupted by request");
  // The process lives on for the next turn, whose interrupt flag starts clear.
  protocol_->on_begin = nullptr;
  RecordingSink next;
  EXPECT_EQ(agent->RunTurn({"i-2", "hello", 2}, next).status, TurnOutcome::Status::kCompleted);
}

}  // namespace
}  // namespace codeswarm::worker
