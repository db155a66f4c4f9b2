// WorkerCore and approvals a person decides, against fake turns and a hand-driven clock: a
// forwarded decision reaches the turns, an unanswered request is declined when its time runs
// out, and hello lists what still waits.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "unit/worker_core_fakes.h"

namespace codeswarm::worker {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::WorkerCoreTest;

constexpr const char* kRequest =
    R"({"approval_id":"a-1","kind":"command","subject":"touch x","timeout_seconds":300})";

class WorkerApprovalsTest : public WorkerCoreTest {
 protected:
  // A welcomed worker whose turn i-1 waits on approval a-1.
  void StartWaiting() {
    approval_timeout_ = 30s;
    StartWelcomed();
    core_->OnLine(Inject("i-1"));
    turns_->Emit("i-1", "turn_started");
    turns_->Emit("i-1", "approval_request", kRequest);
    Run();
  }
  void Answer(const std::string& decided_by) {
    turns_->Emit("i-1", "approval",
                 R"({"approval_id":"a-1","kind":"command","subject":"touch x","decision":"accept","decided_by":")" +
                     decided_by + "\"}");
    Run();
  }
};

TEST_F(WorkerApprovalsTest, RequestIsSentAsARuntimeEvent) {
  StartWaiting();
  EXPECT_EQ(link_.Events(),
            (std::vector<std::string>{"1 i-1 turn_started", "2 i-1 approval_request"}));
  EXPECT_EQ(core_->pending_approvals(), (std::map<std::string, std::string>{{"a-1", "i-1"}}));
}

TEST_F(WorkerApprovalsTest, RoutersDecisionReachesTheTurnsOnce) {
  StartWaiting();
  core_->OnLine(R"(approval_decide {"approval_id":"a-1","decision":"accept"})");
  EXPECT_EQ(turns_->decisions, (std::vector<std::string>{"a-1 accept person"}));
  Answer("person");
  EXPECT_TRUE(core_->pending_approvals().empty());
  // Late or repeated decisions find nothing waiting.
  core_->OnLine(R"(approval_decide {"approval_id":"a-1","decision":"decline"})");
  core_->OnLine(R"(approval_decide {"approval_id":"a-9","decision":"accept"})");
  core_->OnLine(R"(approval_decide {"approval_id":"a-1","decision":"maybe"})");
  EXPECT_EQ(turns_->decisions.size(), 1u);
  // And its timer is gone with it.
  executor_.Advance(60s);
  EXPECT_EQ(turns_->decisions.size(), 1u);
}

TEST_F(WorkerApprovalsTest, UnansweredRequestIsDeclinedWhenItsTimeRunsOut) {
  StartWaiting();
  executor_.Advance(29s);
  EXPECT_TRUE(turns_->decisions.empty());
  executor_.Advance(1s);
  EXPECT_EQ(turns_->decisions, (std::vector<std::string>{"a-1 decline timeout"}));
  // A decision that arrives after that is not passed on.
  core_->OnLine(R"(approval_decide {"approval_id":"a-1","decision":"accept"})");
  EXPECT_EQ(turns_->decisions.size(), 1u);
}

TEST_F(WorkerApprovalsTest, RequestsOfAnEndedTurnStopWaiting) {
  StartWaiting();
  turns_->Complete("i-1", "interrupted", "interrupted by request");
  Run();
  EXPECT_TRUE(core_->pending_approvals().empty());
  executor_.Advance(60s);
  EXPECT_TRUE(turns_->decisions.empty());
}

TEST_F(WorkerApprovalsTest, HelloAfterAReconnectListsWaitingRequests) {
  StartWaiting();
  core_->OnDisconnected("router restarted");
  executor_.Advance(1s);  // the reconnect backoff
  ASSERT_EQ(link_.connects, 2);
  core_->OnConnected();
  json::object hello = link_.Sent("hello").back();
  EXPECT_EQ(json::serialize(hello.at("approvals")),
            R"([{"approval_id":"a-1","injection_id":"i-1","kind":"command","subject":"touch x"}])");
  // The time keeps running across the reconnect.
  core_->OnLine(Welcome(2));
  executor_.Advance(29s);
  EXPECT_EQ(turns_->decisions, (std::vector<std::string>{"a-1 decline timeout"}));
}

TEST_F(WorkerApprovalsTest, PolicyAnswersNeedNoDecision) {
  StartWelcomed();
  core_->OnLine(Inject("i-1"));
  turns_->Emit("i-1", "approval",
               R"({"kind":"command","subject":"ls","decision":"accept","decided_by":"policy"})");
  Run();
  EXPECT_TRUE(core_->pending_approvals().empty());
  EXPECT_FALSE(link_.Sent("hello").back().contains("approvals"));
}

}  // namespace
}  // namespace codeswarm::worker
