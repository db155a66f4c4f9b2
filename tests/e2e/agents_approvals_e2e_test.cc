// Approvals a person decides (approval_decision "ask") with the real codex and claude CLIs
// against the stub model server, through the real router and workers: the request reaches the
// client, a decision (by approval_decide, and by `codeswarm approve`) lets the command run, a
// second decision is refused, and a request nobody answers is declined when its time runs out.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>

#include "e2e/agent_e2e.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Node `node`'s approval_request of `injection` (received already, or waited for) as its data.
json::object WaitForRequest(ProtocolClient& client, const Injection& injection, int node) {
  auto is_request = [&](const json::object& e) {
    return Str(e.at("event")) == "approval_request" &&
           Str(e.at("data").at("injection_id")) == injection.id &&
           e.at("data").at("node_id").as_int64() == node;
  };
  for (const json::object& e : client.events()) {
    if (is_request(e)) return e.at("data").as_object();
  }
  json::object event = client.WaitFor(is_request, 60s);
  return event.empty() ? json::object{} : event.at("data").as_object();
}

TEST_P(CliAgentE2E, PersonApprovesARequestAndTheCommandRuns) {
  const std::string file = "approved_by_person.txt", command = "touch " + file;
  Launch(agent().ApprovalSettings("ask"), "You are a test node.",
         {{"approval_timeout_seconds", 120}});
  stub_->AddRule(agent().CommandRule("[ask-accept]", command));
  Injection injection = Inject(*client_, swarm_, "Make a file [ask-accept]");

  // Node 0 is answered over the protocol.
  json::object request = WaitForRequest(*client_, injection, 0);
  ASSERT_FALSE(request.empty());
  agent().ExpectApproval(request, command);
  const std::string id0 = Str(request.at("approval_id"));
  EXPECT_EQ(request.at("timeout_seconds").to_number<double>(), 120);
  auto decide = [&](int node, const std::string& id, const std::string& decision) {
    return client_->Answer(client_->Send("approval_decide", {{"swarm_id", swarm_},
                                                             {"node_id", node},
                                                             {"approval_id", id},
                                                             {"decision", decision}}));
  };
  json::object ack = decide(0, id0, "accept");
  EXPECT_EQ(Str(ack.at("event")), "approval_decide_ack") << json::serialize(ack);
  json::object again = decide(0, id0, "decline");
  EXPECT_EQ(Str(again.at("event")), "command_rejected");
  EXPECT_EQ(Str(again.at("data").at("code")), "already_decided") << json::serialize(again);

  // Node 1 by a person at the command line.
  request = WaitForRequest(*client_, injection, 1);
  ASSERT_FALSE(request.empty());
  const std::string id1 = Str(request.at("approval_id"));
  CliResult approved = RunCli(router_->config_path(), {"approve", swarm_, "1", id1});
  EXPECT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_EQ(approved.out, "approved " + id1 + " of node 1 (swarm " + swarm_ +
                              "); the decision is on its way to the agent\n");

  std::map<int, NodeTurn> turns = WaitTurns(*client_, injection);
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
    ASSERT_EQ(t.approvals.size(), 1u) << "node " << node;
    EXPECT_EQ(Str(t.approvals[0].at("approval_id")), node == 0 ? id0 : id1);
    EXPECT_EQ(Str(t.approvals[0].at("decision")), "accept");
    EXPECT_EQ(Str(t.approvals[0].at("decided_by")), "person");
    EXPECT_EQ(t.content, "Done. The tool call finished.");
    EXPECT_TRUE(fs::exists(NodeDir(*dir_, swarm_, node) + "/" + file)) << "node " << node;
    // The request came before its answer, both inside the turn.
    auto at = [&](const std::string& name) {
      return std::find(t.events.begin(), t.events.end(), name) - t.events.begin();
    };
    EXPECT_LT(at("turn_started"), at("approval_request"));
    EXPECT_LT(at("approval_request"), at("approval"));
    EXPECT_LT(at("approval"), at("turn_complete"));
  }
  // Once answered, the request is gone: a late decision is refused with the answer it had.
  json::object late = decide(1, id1, "decline");
  EXPECT_EQ(Str(late.at("data").at("code")), "already_decided") << json::serialize(late);
  EXPECT_NE(Str(late.at("data").at("reason")).find("accept, decided by person"), std::string::npos)
      << json::serialize(late);
}

TEST_P(CliAgentE2E, UnansweredRequestIsDeclinedWhenItsTimeRunsOut) {
  const std::string file = "nobody_answered.txt";
  Launch(agent().ApprovalSettings("ask"), "You are a test node.",
         {{"approval_timeout_seconds", 2}});
  stub_->AddRule(agent().CommandRule("[ask-timeout]", "touch " + file));
  Injection injection = Inject(*client_, swarm_, "Make a file [ask-timeout]", 0);
  json::object request = WaitForRequest(*client_, injection, 0);
  ASSERT_FALSE(request.empty());

  std::map<int, NodeTurn> turns = WaitTurns(*client_, injection);
  NodeTurn& t = turns[0];
  EXPECT_EQ(t.status, "completed") << t.error;
  ASSERT_EQ(t.approvals.size(), 1u);
  EXPECT_EQ(Str(t.approvals[0].at("approval_id")), Str(request.at("approval_id")));
  EXPECT_EQ(Str(t.approvals[0].at("decision")), "decline");
  EXPECT_EQ(Str(t.approvals[0].at("decided_by")), "timeout");
  EXPECT_EQ(Str(t.approvals[0].at("reason")), "no one decided within 2 s");
  EXPECT_FALSE(fs::exists(NodeDir(*dir_, swarm_, 0) + "/" + file));

  CliResult late = RunCli(router_->config_path(),
                          {"deny", swarm_, "0", Str(request.at("approval_id"))});
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_NE(late.err.find("was already answered (decline, decided by timeout)"), std::string::npos)
      << late.err;
}

TEST_P(CliAgentE2E, InterruptWhileARequestWaitsDeclinesItAndEndsTheTurn) {
  const std::string file = "interrupted_request.txt";
  Launch(agent().ApprovalSettings("ask"), "You are a test node.",
         {{"approval_timeout_seconds", 120}});
  stub_->AddRule(agent().CommandRule("[ask-interrupt]", "touch " + file));
  Injection injection = Inject(*client_, swarm_, "Make a file [ask-interrupt]", 0);
  json::object request = WaitForRequest(*client_, injection, 0);
  ASSERT_FALSE(request.empty());
  json::object ack =
      client_->Answer(client_->Send("interrupt", {{"swarm_id", swarm_}, {"nodes", 0}}));
  EXPECT_EQ(Str(ack.at("event")), "interrupt_ack") << json::serialize(ack);

  std::map<int, NodeTurn> turns = WaitTurns(*client_, injection);
  NodeTurn& t = turns[0];
  ASSERT_EQ(t.approvals.size(), 1u);
  EXPECT_EQ(Str(t.approvals[0].at("decision")), "decline");
  EXPECT_EQ(Str(t.approvals[0].at("decided_by")), "turn_ended");
  EXPECT_EQ(Str(t.approvals[0].at("reason")), "the turn was interrupted");
  // The declined command never ran; the turn itself ends as the agent ends it once told to stop
  // (completed when the model's last answer was already on its way).
  EXPECT_FALSE(fs::exists(NodeDir(*dir_, swarm_, 0) + "/" + file));
  EXPECT_TRUE(t.status == "interrupted" || t.status == "completed") << t.status << ": " << t.error;
  json::object late = client_->Answer(client_->Send(
      "approval_decide", {{"swarm_id", swarm_},
                          {"node_id", 0},
                          {"approval_id", request.at("approval_id")},
                          {"decision", "accept"}}));
  EXPECT_EQ(Str(late.at("data").at("code")), "already_decided") << json::serialize(late);
}

TEST_P(CliAgentE2E, RequestWaitingAcrossARouterCrashCanStillBeDecided) {
  const std::string file = "decided_after_restart.txt";
  Launch(agent().ApprovalSettings("ask"), "You are a test node.",
         {{"approval_timeout_seconds", 120}});
  stub_->AddRule(agent().CommandRule("[ask-restart]", "touch " + file));
  Injection injection = Inject(*client_, swarm_, "Make a file [ask-restart]", 0);
  json::object request = WaitForRequest(*client_, injection, 0);
  ASSERT_FALSE(request.empty());
  const std::string id = Str(request.at("approval_id"));

  router_->Kill();
  router_->Start();
  client_ = std::make_unique<ProtocolClient>(router_->port());
  // The worker comes back and its hello says what its agent still waits on.
  bool listed = Eventually(
      [&] {
        json::object status =
            client_->Answer(client_->Send("swarm_status", {{"swarm_id", swarm_}}));
        if (Str(status.at("event")) != "swarm_status") return false;
        const json::object& node = status.at("data").at("nodes").as_array()[0].as_object();
        const json::array& waiting = node.at("approvals_waiting").as_array();
        return Str(node.at("state")) != "disconnected" && waiting.size() == 1 &&
               Str(waiting[0].at("approval_id")) == id;
      },
      30s);
  ASSERT_TRUE(listed) << router_->log();
  CliResult approved = RunCli(router_->config_path(), {"approve", swarm_, "0", id});
  EXPECT_EQ(approved.exit_code, 0) << approved.err;

  std::map<int, NodeTurn> turns = WaitTurns(*client_, injection);
  NodeTurn& t = turns[0];
  EXPECT_EQ(t.status, "completed") << t.error;
  ASSERT_EQ(t.approvals.size(), 1u);
  EXPECT_EQ(Str(t.approvals[0].at("decided_by")), "person");
  EXPECT_EQ(Str(t.approvals[0].at("decision")), "accept");
  EXPECT_TRUE(fs::exists(NodeDir(*dir_, swarm_, 0) + "/" + file));
}

}  // namespace
}  // namespace codeswarm::e2e
