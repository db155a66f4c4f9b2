// The commands over a real loopback socket, against a fake router that answers with literal
// event lines.
#include "cli/client.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <sstream>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/socket_connection.h"
#include "cli_test_support.h"

namespace codeswarm::cli {
namespace {

using testing::FakeRouter;
using testing::ScriptedConnection;

constexpr char kEvent[] = R"({"protocol":"codeswarm.router.v1","type":"event",)";

std::string Line(const std::string& rest) { return kEvent + rest; }

class CliClientTest : public ::testing::Test {
 protected:
  // Connects a Client to `router`; --json when `json`.
  void Connect(FakeRouter& router, bool json = false) {
    Result<std::unique_ptr<SocketConnection>> connection = SocketConnection::Connect(
        {"127.0.0.1", router.port()}, std::chrono::seconds(5), /*interrupt_fd=*/-1);
    ASSERT_TRUE(connection.ok()) << connection.status().message();
    client_ = std::make_unique<Client>(std::move(*connection), err_, &debug_);
    output_ = std::make_unique<Output>(out_, err_, json);
  }

  std::ostringstream out_;
  std::ostringstream err_;
  std::ostringstream debug_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Output> output_;
};

TEST_F(CliClientTest, SendsAnEnvelopeAndTakesTheAnswerWithItsRequestId) {
  FakeRouter router({
      // Another client's answer and a broadcast event come first; neither is ours.
      Line(
          R"("event":"swarm_list","data":{"request_id":"someone-else","swarms":{"s-x":{"status":"running"}}}})"),
      Line(
          R"("seq":7,"timestamp":"t","event":"node_connected","data":{"swarm_id":"s-x","node_id":0}})"),
      Line(R"("event":"swarm_list","data":{"request_id":"$RID","swarms":{}}})"),
  });
  Connect(router);
  EXPECT_EQ(ListSwarms(*client_, *output_, 5), kExitOk);
  EXPECT_EQ(out_.str(), "no swarms\n");
  EXPECT_EQ(err_.str(), "");

  boost::json::object command = boost::json::parse(router.ReceivedCommand()).as_object();
  EXPECT_EQ(command.at("protocol"), "codeswarm.router.v1");
  EXPECT_EQ(command.at("type"), "command");
  EXPECT_EQ(command.at("command"), "swarm_list");
  EXPECT_EQ(command.at("payload"), boost::json::object());
  std::string request_id(command.at("request_id").as_string());
  EXPECT_TRUE(request_id.starts_with("cli-" + std::to_string(::getpid()) + "-")) << request_id;
}

TEST_F(CliClientTest, RejectionPrintsTheReasonAndExitsOne) {
  FakeRouter router({Line(
      R"("event":"command_rejected","data":{"request_id":"$RID","command":"swarm_status","code":"unknown_swarm","reason":"unknown swarm_id \"s-deadbeef\""}})")});
  Connect(router);
  EXPECT_EQ(ShowStatus(*client_, *output_, "s-deadbeef", 5), kExitFailed);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "error: unknown swarm_id \"s-deadbeef\"\n");
  boost::json::object command = boost::json::parse(router.ReceivedCommand()).as_object();
  EXPECT_EQ(command.at("payload"), (boost::json::object{{"swarm_id", "s-deadbeef"}}));
}

TEST_F(CliClientTest, RejectionWithoutARequestIdIsStillTheAnswer) {
  // The router could not read the request_id (e.g. the line was too long); rejections go only to
  // the requester, so it is ours.
  FakeRouter router({Line(
      R"("event":"command_rejected","data":{"request_id":null,"code":"line_too_long","reason":"line exceeds the limit of 1048576 bytes; it was discarded"}})")});
  Connect(router);
  InjectRequest request;
  request.swarm_id = "s-1";
  request.content = "x";
  EXPECT_EQ(Inject(*client_, *output_, request), kExitFailed);
  EXPECT_EQ(err_.str(), "error: line exceeds the limit of 1048576 bytes; it was discarded\n");
}

TEST_F(CliClientTest, ConnectionClosedMidStreamExitsThree) {
  FakeRouter router({
      Line(
          R"("event":"inject_ack","data":{"request_id":"$RID","swarm_id":"s-1","node_id":0,"injection_id":"i-1","nodes":[0,1]}})"),
      Line(
          R"("event":"inject_ack","data":{"request_id":"$RID","swarm_id":"s-1","node_id":1,"injection_id":"i-1","nodes":[0,1]}})"),
      Line(
          R"("event":"assistant_delta","data":{"swarm_id":"s-1","node_id":1,"injection_id":"i-1","delta":"half an ans"}})"),
      Line(
          R"("event":"turn_complete","data":{"swarm_id":"s-1","node_id":0,"injection_id":"i-1","status":"completed","error":null}})"),
  });
  Connect(router);
  InjectRequest request;
  request.swarm_id = "s-1";
  request.content = "hello";
  EXPECT_EQ(Inject(*client_, *output_, request), kExitUnreachable);
  EXPECT_EQ(out_.str(),
            "injection i-1 into swarm s-1: nodes 0-1\n"
            "[node 0] completed\n"
            "[node 1] half an ans\n");
  EXPECT_EQ(err_.str(), "error: lost the connection to the router at 127.0.0.1:" +
                            std::to_string(router.port()) +
                            ": the router closed the connection; no result yet from node 1\n");
  boost::json::object command = boost::json::parse(router.ReceivedCommand()).as_object();
  EXPECT_EQ(command.at("command"), "inject");
  EXPECT_EQ(command.at("payload"),
            (boost::json::object{{"swarm_id", "s-1"}, {"nodes", "all"}, {"content", "hello"}}));
}

TEST_F(CliClientTest, JsonPrintsExactlyTheReceivedLinesOfTheCommand) {
  // Odd spacing and key order on purpose: --json must not re-serialize.
  const std::string ack =
      R"({ "type":"event", "protocol":"codeswarm.router.v1","seq":3,"timestamp":"t","event":"inject_ack","data":{"request_id":"$RID","swarm_id":"s-1","node_id":2,"injection_id":"i-7","nodes":[2],"extra":{"a":[1,2]}} })";
  const std::string delta = Line(
      R"("seq":4,"event":"assistant_delta","data":{"swarm_id":"s-1","node_id":2,"injection_id":"i-7","delta":"h\u00e9"}})");
  const std::string other = Line(
      R"("seq":5,"event":"assistant_delta","data":{"swarm_id":"s-1","node_id":2,"injection_id":"i-8","delta":"no"}})");
  const std::string done = Line(
      R"("seq":6,"event":"turn_complete","data":{"swarm_id":"s-1","node_id":2,"injection_id":"i-7","status":"completed","error":null}})");
  FakeRouter router({ack, delta, other, done});
  Connect(router, /*json=*/true);
  InjectRequest request;
  request.swarm_id = "s-1";
  request.content = "x";
  request.nodes = *ParseNodeSpec("2");
  EXPECT_EQ(Inject(*client_, *output_, request), kExitOk);
  std::string request_id = testing::RequestIdOf(router.ReceivedCommand());
  EXPECT_EQ(out_.str(),
            testing::WithRequestId(ack, request_id) + "\n" + delta + "\n" + done + "\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(CliClientTest, ConnectionClosingIsReportedWithItsReasonAndExitsOne) {
  FakeRouter router(
      {Line(R"("event":"connection_closing","data":{"reason":"the router is shutting down"}})")});
  Connect(router);
  EXPECT_EQ(Terminate(*client_, *output_, "s-1", 5), kExitFailed);
  EXPECT_EQ(err_.str(), "error: the router closed the connection: the router is shutting down\n");
}

TEST_F(CliClientTest, NoAnswerWithinTheTimeoutExitsOne) {
  FakeRouter router({}, FakeRouter::End::kKeepOpen);
  Connect(router);
  EXPECT_EQ(ShowStatus(*client_, *output_, "s-1", 0.2), kExitFailed);
  EXPECT_EQ(err_.str(), "error: no answer from the router at 127.0.0.1:" +
                            std::to_string(router.port()) + " to swarm_status within 0.2 s\n");
}

TEST_F(CliClientTest, DebugShowsEveryLineSentAndReceived) {
  const std::string answer = Line(
      R"("event":"swarm_terminated","data":{"request_id":"$RID","swarm_id":"s-1","job_id":"local-s-1"}})");
  FakeRouter router({"not json at all", answer});
  Connect(router);
  EXPECT_EQ(Terminate(*client_, *output_, "s-1", 5), kExitOk);
  EXPECT_EQ(out_.str(), "terminated swarm s-1 (job local-s-1)\n");
  std::string sent = router.ReceivedCommand();
  EXPECT_EQ(debug_.str(), "> " + sent + "\n< not json at all\n< " +
                              testing::WithRequestId(answer, testing::RequestIdOf(sent)) + "\n");
  EXPECT_EQ(err_.str(),
            "warning: skipped a line from the router that is not an event: "
            "not json at all\n");
}

TEST_F(CliClientTest, LaunchWaitFollowsTheSwarmUntilEveryNodeIsConnected) {
  FakeRouter router(
      {
          // A node may connect before the answer names the swarm; it still counts.
          Line(
              R"("event":"node_connected","data":{"swarm_id":"s-9","node_id":1,"hostname":"h","pid":1}})"),
          Line(
              R"("event":"swarm_launched","data":{"request_id":"$RID","swarm_id":"s-9","job_id":"local-s-9","node_count":2,"status":"running","backend":"local","agent_kind":"mock"}})"),
          Line(R"("event":"node_connected","data":{"swarm_id":"s-other","node_id":0}})"),
          Line(
              R"("event":"swarm_update","data":{"swarm_id":"s-9","status":"running","backend_state":"RUNNING","reason":"","node_count":2,"nodes_connected":1}})"),
          Line(
              R"("event":"node_connected","data":{"swarm_id":"s-9","node_id":0,"hostname":"h","pid":2}})"),
      },
      FakeRouter::End::kKeepOpen);
  Connect(router);
  LaunchRequest request;
  request.nodes = 2;
  request.system_prompt = "be brief";
  request.agent = boost::json::object{{"kind", "mock"}};
  request.wait = true;
  request.timeout_seconds = 5;
  EXPECT_EQ(Launch(*client_, *output_, request), kExitOk);
  EXPECT_EQ(out_.str(),
            "launched swarm s-9: 2 nodes, job local-s-9 (backend local, agent mock)\n"
            "inject with: codeswarm inject s-9 --prompt \"...\"\n"
            "nodes connected 1/2\n"
            "swarm s-9 running (RUNNING), nodes connected 1/2\n"
            "nodes connected 2/2\n");
  EXPECT_EQ(err_.str(), "");
  boost::json::object command = boost::json::parse(router.ReceivedCommand()).as_object();
  EXPECT_EQ(command.at("payload"),
            (boost::json::object{{"nodes", 2},
                                 {"system_prompt", "be brief"},
                                 {"agent", boost::json::object{{"kind", "mock"}}}}));
}

TEST_F(CliClientTest, LaunchWaitFailsWhenTheSwarmEnds) {
  FakeRouter router(
      {
          Line(
              R"("event":"swarm_launched","data":{"request_id":"$RID","swarm_id":"s-9","job_id":"77","node_count":2,"status":"pending","backend":"slurm","agent_kind":"codex"}})"),
          Line(
              R"("event":"swarm_update","data":{"swarm_id":"s-9","status":"ended","backend_state":"FAILED","reason":"sbatch: time limit","node_count":2,"nodes_connected":0}})"),
      },
      FakeRouter::End::kKeepOpen);
  Connect(router);
  LaunchRequest request;
  request.nodes = 2;
  request.wait = true;
  request.timeout_seconds = 5;
  EXPECT_EQ(Launch(*client_, *output_, request), kExitFailed);
  EXPECT_EQ(err_.str(), "error: swarm s-9 ended before all nodes connected: sbatch: time limit\n");
}

TEST_F(CliClientTest, LaunchWaitShowsWhyAPendingJobWaitsAndItsProgress) {
  FakeRouter router(
      {
          Line(
              R"("event":"swarm_launched","data":{"request_id":"$RID","swarm_id":"s-9","job_id":"77","node_count":2,"status":"pending","backend":"slurm","backend_state":"PENDING","reason":"Resources","agent_kind":"mock","nodes_connected":0}})"),
          Line(
              R"("event":"swarm_update","data":{"swarm_id":"s-9","status":"running","backend_state":"RUNNING","reason":"running on n[1-2]","node_count":2,"nodes_connected":0}})"),
          Line(
              R"("event":"node_connected","data":{"swarm_id":"s-9","node_id":0,"hostname":"n1","pid":2}})"),
          Line(
              R"("event":"node_connected","data":{"swarm_id":"s-9","node_id":1,"hostname":"n2","pid":3}})"),
      },
      FakeRouter::End::kKeepOpen);
  Connect(router);
  LaunchRequest request;
  request.nodes = 2;
  request.wait = true;
  request.timeout_seconds = 5;
  EXPECT_EQ(Launch(*client_, *output_, request), kExitOk);
  EXPECT_EQ(out_.str(),
            "launched swarm s-9: 2 nodes, job 77 (backend slurm, agent mock)\n"
            "inject with: codeswarm inject s-9 --prompt \"...\"\n"
            "swarm s-9 pending (PENDING: Resources), nodes connected 0/2\n"
            "swarm s-9 running (RUNNING: running on n[1-2]), nodes connected 0/2\n"
            "nodes connected 1/2\n"
            "nodes connected 2/2\n");
}

TEST(CliClientScriptedTest, CtrlCWhileStreamingSaysWhatIsMissingAndExits130) {
  auto connection = std::make_unique<ScriptedConnection>(std::vector<ReadOutcome>{
      ScriptedConnection::Line(Line(
          R"("event":"inject_ack","data":{"request_id":"$RID","swarm_id":"s-1","node_id":0,"injection_id":"i-1","nodes":[0,2,3]}})")),
      ScriptedConnection::Line(Line(
          R"("event":"assistant_delta","data":{"swarm_id":"s-1","node_id":2,"injection_id":"i-1","delta":"thinking"}})")),
      ScriptedConnection::Line(Line(
          R"("event":"turn_complete","data":{"swarm_id":"s-1","node_id":0,"injection_id":"i-1","status":"completed","error":null}})")),
      ScriptedConnection::Interrupt(),
  });
  std::ostringstream out;
  std::ostringstream err;
  Output output(out, err, false);
  Client client(std::move(connection), err, nullptr);
  InjectRequest request;
  request.swarm_id = "s-1";
  request.content = "x";
  EXPECT_EQ(Inject(client, output, request), kExitInterrupted);
  EXPECT_EQ(out.str(),
            "injection i-1 into swarm s-1: nodes 0,2-3\n"
            "[node 0] completed\n"
            "[node 2] thinking\n");
  EXPECT_EQ(err.str(),
            "interrupted: no result yet from nodes 2-3; the turns go on (follow them with: "
            "codeswarm attach s-1)\n");
}

TEST(CliClientScriptedTest, RequestIdsAreDistinctAndNamedAfterTheProcess) {
  std::string first = NewRequestId();
  std::string second = NewRequestId();
  EXPECT_NE(first, second);
  EXPECT_TRUE(first.starts_with("cli-" + std::to_string(::getpid()) + "-"));
}

}  // namespace
}  // namespace codeswarm::cli
