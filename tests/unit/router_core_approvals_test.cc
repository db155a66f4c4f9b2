// RouterCore against fakes: approval_decide — forwarded to the worker that waits, exactly one
// decision per request, unknown / answered / unreachable requests refused with a reason, and
// waiting requests taken from hello after a reconnect or a router restart.
#include <gtest/gtest.h>

#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {
namespace {

constexpr const char* kRequest =
    R"( approval_request {"approval_id":"a-1","kind":"command","subject":"touch x","timeout_seconds":300})";

class RouterApprovalsTest : public RouterCoreTest {
 protected:
  // A 2-node swarm whose node 1 runs injection_ and waits on approval a-1.
  void SetUpWaitingApproval() {
    swarm_ = Launch(2);
    Connect(swarm_, 0);
    Connect(swarm_, 1);
    injection_ = Inject(swarm_, "1");
    WorkerSays(swarm_, 1, R"(received {"injection_id":")" + injection_ + "\"}");
    WorkerSays(swarm_, 1, "event 1 " + injection_ + " turn_started {}");
    WorkerSays(swarm_, 1, "event 2 " + injection_ + kRequest);
  }

  void Decide(const std::string& node, const std::string& approval_id,
              const std::string& decision = "accept", const std::string& request_id = "d1") {
    core_->OnClientLine(kClient, Command("approval_decide",
                                         R"({"swarm_id":")" + swarm_ + R"(","node_id":)" + node +
                                             R"(,"approval_id":")" + approval_id +
                                             R"(","decision":")" + decision + "\"}",
                                         request_id));
  }

  FakeWorkerConnection& Link(int node) { return *links_.at(Conn(swarm_, node)); }

  std::string swarm_;
  std::string injection_;
};

TEST_F(RouterApprovalsTest, RequestReachesClientsWithTheNodesIds) {
  SetUpWaitingApproval();
  json::object request = clients_.Last("approval_request").at("data").as_object();
  EXPECT_EQ(request.at("swarm_id"), swarm_);
  EXPECT_EQ(request.at("node_id"), 1);
  EXPECT_EQ(request.at("injection_id"), injection_);
  EXPECT_EQ(request.at("approval_id"), "a-1");
  EXPECT_EQ(request.at("subject"), "touch x");
}

TEST_F(RouterApprovalsTest, DecisionIsForwardedToTheWaitingWorkerAndAcknowledged) {
  SetUpWaitingApproval();
  Decide("1", "a-1", "accept");
  ASSERT_EQ(Link(1).WithVerb("approval_decide").size(), 1u);
  EXPECT_EQ(Link(1).WithVerb("approval_decide")[0],
            "approval_decide {\"approval_id\":\"a-1\",\"decision\":\"accept\"}\n");
  EXPECT_TRUE(Link(0).WithVerb("approval_decide").empty());
  json::object ack = clients_.Last("approval_decide_ack").at("data").as_object();
  EXPECT_EQ(ack.at("request_id"), "d1");
  EXPECT_EQ(ack.at("node_id"), 1);
  EXPECT_EQ(ack.at("approval_id"), "a-1");
  EXPECT_EQ(ack.at("injection_id"), injection_);
  EXPECT_EQ(ack.at("decision"), "accept");
}

TEST_F(RouterApprovalsTest, SecondDecisionIsRefusedBeforeAndAfterTheWorkerAnswers) {
  SetUpWaitingApproval();
  Decide("1", "a-1", "accept");
  Decide("1", "a-1", "decline", "d2");
  EXPECT_EQ(Rejection().at("code"), "already_decided");
  EXPECT_EQ(Rejection().at("request_id"), "d2");
  EXPECT_NE(std::string(Rejection().at("reason").as_string()).find("already decided (accept)"),
            std::string::npos)
      << Rejection().at("reason");

  WorkerSays(swarm_, 1, "event 3 " + injection_ +
                            R"( approval {"approval_id":"a-1","kind":"command","subject":"touch x","decision":"accept","decided_by":"person"})");
  Decide("1", "a-1", "decline", "d3");
  EXPECT_EQ(Rejection().at("code"), "already_decided");
  EXPECT_EQ(Rejection().at("reason"),
            "approval a-1 of node 1 of swarm " + swarm_ +
                " was already answered (accept, decided by person)");
  EXPECT_EQ(Link(1).WithVerb("approval_decide").size(), 1u);  // exactly one answer went out
}

TEST_F(RouterApprovalsTest, UnknownIdOrWrongNodeIsRefusedWithAReason) {
  SetUpWaitingApproval();
  Decide("1", "a-2");
  EXPECT_EQ(Rejection().at("code"), "unknown_approval");
  EXPECT_EQ(Rejection().at("reason"),
            "node 1 of swarm " + swarm_ +
                " has no approval request a-2 waiting (swarm_status lists the waiting ones "
                "under approvals_waiting)");
  Decide("0", "a-1");
  EXPECT_EQ(Rejection().at("code"), "unknown_approval");
  Decide("5", "a-1");
  EXPECT_EQ(Rejection().at("code"), "invalid_payload");
  EXPECT_TRUE(Link(1).WithVerb("approval_decide").empty());
  EXPECT_TRUE(clients_.Events("approval_decide_ack").empty());
}

TEST_F(RouterApprovalsTest, RequestsOfAnEndedTurnAreDropped) {
  SetUpWaitingApproval();
  WorkerSays(swarm_, 1, "event 3 " + injection_ +
                            R"( turn_complete {"status":"interrupted","error":"interrupted by request"})");
  Decide("1", "a-1");
  EXPECT_EQ(Rejection().at("code"), "already_decided");
  EXPECT_NE(std::string(Rejection().at("reason").as_string()).find("dropped: its turn ended"),
            std::string::npos);
}

TEST_F(RouterApprovalsTest, StatusListsWaitingRequests) {
  SetUpWaitingApproval();
  core_->OnClientLine(kClient, Command("swarm_status", R"({"swarm_id":")" + swarm_ + "\"}"));
  json::array nodes = clients_.Last("swarm_status").at("data").at("nodes").as_array();
  EXPECT_TRUE(nodes[0].at("approvals_waiting").as_array().empty());
  ASSERT_EQ(nodes[1].at("approvals_waiting").as_array().size(), 1u);
  json::object waiting = nodes[1].at("approvals_waiting").as_array()[0].as_object();
  EXPECT_EQ(waiting.at("approval_id"), "a-1");
  EXPECT_EQ(waiting.at("kind"), "command");
  EXPECT_EQ(waiting.at("subject"), "touch x");
  EXPECT_EQ(waiting.at("decided"), false);
}

TEST_F(RouterApprovalsTest, DisconnectedNodeIsRefusedAndReconnectLetsTheDecisionThrough) {
  SetUpWaitingApproval();
  core_->OnWorkerDisconnected(Conn(swarm_, 1), "connection reset");
  Decide("1", "a-1");
  EXPECT_EQ(Rejection().at("code"), "node_unreachable");

  // The worker comes back and says what it still waits on.
  ConnId id = 99;
  auto& link = links_[id];
  link = std::make_unique<FakeWorkerConnection>();
  conn_of_[{swarm_, 1}] = id;
  core_->OnWorkerConnected(id, link.get(), swarm_);
  core_->OnWorkerLine(
      id, R"(hello {"protocol":"codeswarm.worker.v2","swarm_id":")" + swarm_ +
              R"(","node_id":1,"instance":"inst-a","pid":101,"hostname":"host","holding":[")" +
              injection_ +
              R"("],"approvals":[{"approval_id":"a-1","injection_id":")" + injection_ +
              R"(","kind":"command","subject":"touch x"}]})");
  Decide("1", "a-1", "decline");
  ASSERT_EQ(link->WithVerb("approval_decide").size(), 1u);
  EXPECT_EQ(clients_.Last("approval_decide_ack").at("data").at("decision"), "decline");
}

TEST_F(RouterApprovalsTest, RestartedRouterForwardsADecisionForARequestTheHelloLists) {
  SetUpWaitingApproval();
  MakeCore();  // a new router over the same store; the worker still waits
  links_.clear();
  Decide("1", "a-1");  // before the worker is back, only the worker knows
  EXPECT_EQ(Rejection().at("code"), "node_unreachable");
  EXPECT_NE(std::string(Rejection().at("reason").as_string()).find("try again once it reconnects"),
            std::string::npos);
  ConnId id = 42;
  auto& link = links_[id];
  link = std::make_unique<FakeWorkerConnection>();
  conn_of_[{swarm_, 1}] = id;
  core_->OnWorkerConnected(id, link.get(), swarm_);
  core_->OnWorkerLine(
      id, R"(hello {"protocol":"codeswarm.worker.v2","swarm_id":")" + swarm_ +
              R"(","node_id":1,"instance":"inst-a","pid":101,"hostname":"host","holding":[")" +
              injection_ +
              R"("],"approvals":[{"approval_id":"a-1","injection_id":")" + injection_ +
              R"(","kind":"command","subject":"touch x"}]})");
  Decide("1", "a-1", "accept");
  ASSERT_EQ(link->WithVerb("approval_decide").size(), 1u);
  EXPECT_EQ(clients_.Last("approval_decide_ack").at("data").at("approval_id"), "a-1");
}

}  // namespace
}  // namespace codeswarm::router::testing
