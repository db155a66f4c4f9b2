#include "cli/inject_follower.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "cli_test_support.h"

namespace codeswarm::cli {
namespace {

using testing::EventFrom;

// Shorthands for the events of injection i-1 (request r-1) into swarm s-1, nodes 0 and 1.
std::string Ack(int node, const std::string& targets = "[0,1]") {
  return R"({"protocol":"codeswarm.router.v1","type":"event","seq":1,"timestamp":"t","event":"inject_ack","data":{"request_id":"r-1","swarm_id":"s-1","job_id":"j","node_id":)" +
         std::to_string(node) + R"(,"injection_id":"i-1","nodes":)" + targets + "}}";
}
std::string Runtime(const std::string& event, int node, const std::string& fields) {
  return R"({"protocol":"codeswarm.router.v1","type":"event","seq":2,"timestamp":"t","event":")" +
         event + R"(","data":{"swarm_id":"s-1","job_id":"j","node_id":)" + std::to_string(node) +
         R"(,"injection_id":"i-1")" + (fields.empty() ? "" : "," + fields) + "}}";
}
std::string Delta(int node, const std::string& text) {
  return Runtime("assistant_delta", node, R"("delta":")" + text + "\"");
}
std::string Usage(int node, int total) {
  return Runtime(
      "usage", node,
      R"("input_tokens":1,"cached_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0,"total_tokens":)" +
          std::to_string(total));
}
std::string Complete(int node, const std::string& status, const std::string& error_json) {
  return Runtime("turn_complete", node, R"("status":")" + status + R"(","error":)" + error_json);
}

class CliInjectFollowerTest : public ::testing::Test {
 protected:
  void Feed(const std::vector<std::string>& lines) {
    for (const std::string& line : lines) follower_.OnEvent(EventFrom(line));
  }

  std::ostringstream out_;
  std::ostringstream err_;
  Output output_{out_, err_, /*json=*/false};
  InjectFollower follower_{"r-1", output_};
};

TEST_F(CliInjectFollowerTest, InterleavedStreamsAreLabelledByNodeAndSummarised) {
  Feed({Ack(0), Ack(1), Runtime("inject_delivered", 0, R"("request_id":"r-1")"),
        Runtime("inject_delivered", 1, R"("request_id":"r-1")"), Runtime("turn_started", 0, ""),
        Delta(0, "Hello"), Runtime("turn_started", 1, ""), Delta(1, "Hi"), Delta(0, " world"),
        Delta(1, " there\\n"), Delta(1, "more"),
        Runtime("assistant", 0, R"("content":"Hello world")"), Usage(0, 12),
        Complete(0, "completed", "null")});
  EXPECT_FALSE(follower_.done());
  EXPECT_EQ(follower_.PendingNodes(), std::vector<int64_t>{1});
  Feed({Runtime("assistant", 1, R"("content":"Hi there\nmore")"), Usage(1, 7),
        Complete(1, "completed", "null")});
  EXPECT_EQ(out_.str(),
            "injection i-1 into swarm s-1: nodes 0-1\n"
            // Several nodes at once: whole lines, each labelled; a line ends at its newline or
            // when the node's turn ends.
            "[node 1] Hi there\n"
            "[node 0] Hello world\n"
            "[node 0] completed (12 tokens)\n"
            "[node 1] more\n"
            "[node 1] completed (7 tokens)\n"
            "2/2 nodes completed\n");
  EXPECT_EQ(err_.str(), "");
  ASSERT_TRUE(follower_.done());
  EXPECT_EQ(follower_.exit_code(), kExitOk);
}

TEST_F(CliInjectFollowerTest, FailedTurnMakesTheCommandFail) {
  Feed({Ack(0), Ack(1), Delta(1, "partial"), Delta(0, "ok"),
        Complete(1, "failed", R"j("agent exited (exit code 3)")j"), Usage(0, 5),
        Complete(0, "completed", "null")});
  EXPECT_EQ(out_.str(),
            "injection i-1 into swarm s-1: nodes 0-1\n"
            "[node 1] partial\n"
            "[node 1] failed: agent exited (exit code 3)\n"
            "[node 0] ok\n"
            "[node 0] completed (5 tokens)\n"
            "1/2 nodes completed, 1 failed\n");
  ASSERT_TRUE(follower_.done());
  EXPECT_EQ(follower_.exit_code(), kExitFailed);
}

TEST_F(CliInjectFollowerTest, UndeliveredAndInterruptedNodesAreCountedApart) {
  Feed({Ack(0), Ack(1),
        Runtime("inject_failed", 1, R"("request_id":"r-1","reason":"node 1 was lost")"),
        Complete(0, "interrupted", R"("swarm s-1 was terminated")")});
  EXPECT_EQ(out_.str(),
            "injection i-1 into swarm s-1: nodes 0-1\n"
            "[node 1] not delivered: node 1 was lost\n"
            "[node 0] interrupted: swarm s-1 was terminated\n"
            "0/2 nodes completed, 1 interrupted, 1 not delivered\n");
  ASSERT_TRUE(follower_.done());
  EXPECT_EQ(follower_.exit_code(), kExitFailed);
}

TEST_F(CliInjectFollowerTest, EstimatedCostIsShownPerTurnAndSummed) {
  Feed({Ack(0), Ack(1), Runtime("turn_started", 0, ""), Runtime("turn_started", 1, ""),
        Runtime("usage", 0, R"("total_tokens":10,"model":"m","cost_usd":0.25)"),
        Runtime("usage", 1, R"("total_tokens":20,"model":"m","cost_usd":0.5)"),
        Complete(0, "completed", "null"), Complete(1, "completed", "null")});
  EXPECT_EQ(out_.str(),
            "injection i-1 into swarm s-1: nodes 0-1\n"
            "[node 0] completed (10 tokens, $0.2500)\n"
            "[node 1] completed (20 tokens, $0.5000)\n"
            "2/2 nodes completed, estimated cost $0.7500\n");
}

TEST_F(CliInjectFollowerTest, AnUnpricedModelMakesTheCostUnknownNotZero) {
  Feed({Ack(0, "[0]"), Runtime("turn_started", 0, ""),
        Runtime("usage", 0,
                R"("total_tokens":10,"model":"x","cost_usd":null,"cost_note":"no price for x")"),
        Complete(0, "completed", "null")});
  EXPECT_EQ(out_.str(),
            "injection i-1 into swarm s-1: node 0\n"
            "[node 0] completed (10 tokens)\n"
            "1/1 nodes completed; cost unknown: no price for x\n");
}

TEST_F(CliInjectFollowerTest, FinalTextIsShownWhenNothingWasStreamed) {
  Feed({Ack(0), Ack(1), Runtime("assistant", 1, R"("content":"whole answer")"),
        Complete(1, "completed", "null"), Runtime("assistant", 0, R"("content":"other")"),
        Usage(0, 3), Complete(0, "completed", "null")});
  EXPECT_EQ(out_.str(),
            "injection i-1 into swarm s-1: nodes 0-1\n"
            "[node 1] whole answer\n"
            "[node 1] completed\n"
            "[node 0] other\n"
            "[node 0] completed (3 tokens)\n"
            "2/2 nodes completed\n");
  EXPECT_EQ(follower_.exit_code(), kExitOk);
}

TEST_F(CliInjectFollowerTest, EventsOfOtherRequestsAndInjectionsAreIgnored) {
  std::string other_ack = Ack(0);
  other_ack.replace(other_ack.find("r-1"), 3, "r-9");
  other_ack.replace(other_ack.find("i-1"), 3, "i-9");
  std::string other_delta = Delta(0, "not mine");
  other_delta.replace(other_delta.find("i-1"), 3, "i-9");
  Feed({other_ack, Ack(0), Ack(1), other_delta, Delta(0, "mine")});
  follower_.EndOpenLine();
  EXPECT_EQ(out_.str(), "injection i-1 into swarm s-1: nodes 0-1\n[node 0] mine\n");
  EXPECT_TRUE(follower_.answered());
  EXPECT_FALSE(follower_.done());
}

TEST_F(CliInjectFollowerTest, OneNodeStreamsTokenByToken) {
  Feed({Ack(0, "[0]"), Runtime("turn_started", 0, ""), Delta(0, "Hel")});
  EXPECT_EQ(out_.str(), "injection i-1 into swarm s-1: node 0\n[node 0] Hel");
  Feed({Delta(0, "lo\\nthere"), Complete(0, "completed", "null")});
  EXPECT_EQ(out_.str(),
            "injection i-1 into swarm s-1: node 0\n[node 0] Hello\nthere\n[node 0] completed\n"
            "1/1 nodes completed\n");
}

TEST_F(CliInjectFollowerTest, RejectionEndsTheCommandWithTheReason) {
  Feed(
      {R"j({"protocol":"codeswarm.router.v1","type":"event","timestamp":"t","event":"command_rejected","data":{"request_id":"r-1","command":"inject","code":"invalid_payload","reason":"payload.nodes: node 7 is out of range (swarm s-1 has nodes 0-3)"}})j"});
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "error: payload.nodes: node 7 is out of range (swarm s-1 has nodes 0-3)\n");
  ASSERT_TRUE(follower_.done());
  EXPECT_EQ(follower_.exit_code(), kExitFailed);
}

TEST(CliInjectFollowerJsonTest, JsonModePrintsOnlyTheInjectionsEventsVerbatim) {
  std::ostringstream out;
  std::ostringstream err;
  Output output(out, err, /*json=*/true);
  InjectFollower follower("r-1", output);
  const std::string unrelated =
      R"({"protocol":"codeswarm.router.v1","type":"event","event":"node_connected","data":{"swarm_id":"s-1","node_id":0}})";
  const std::string mine = Delta(0, "x");
  for (const std::string& line : {Ack(0), unrelated, Ack(1), mine, Complete(0, "completed", "null"),
                                  Complete(1, "completed", "null")}) {
    follower.OnEvent(EventFrom(line));
  }
  EXPECT_EQ(out.str(), Ack(0) + "\n" + Ack(1) + "\n" + mine + "\n" +
                           Complete(0, "completed", "null") + "\n" +
                           Complete(1, "completed", "null") + "\n");
  EXPECT_EQ(follower.exit_code(), kExitOk);
}

}  // namespace
}  // namespace codeswarm::cli
