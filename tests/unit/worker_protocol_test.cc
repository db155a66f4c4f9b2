#include "protocol/worker_protocol.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>

#include "protocol/event_line.h"

namespace codeswarm::protocol {
namespace {

TEST(WorkerProtocolTest, EventLineHeaderAndDataAreParsed) {
  auto event = ParseEventBody(R"(17 i-0c1d2e3f assistant_delta {"delta":"Hel"})");
  ASSERT_TRUE(event.ok()) << event.status().message();
  EXPECT_EQ(event->seq, 17u);
  EXPECT_EQ(event->injection_id, "i-0c1d2e3f");
  EXPECT_EQ(event->event, "assistant_delta");
  EXPECT_EQ(event->data, R"({"delta":"Hel"})");
}

TEST(WorkerProtocolTest, EventDataNamingTheRouterIdsIsRefused) {
  // Regression (found by fuzz_worker_line): the router splices a worker's data after the ids it
  // adds, so data with its own "swarm_id" gave clients a line with the key twice, and JSON
  // readers (Boost.JSON, JavaScript, Python) took the worker's value.
  for (std::string key : {"swarm_id", "job_id", "node_id", "injection_id"}) {
    auto event = ParseEventBody("7 i-1 assistant_delta {\"delta\":\"x\",\"" + key + "\":9}");
    ASSERT_FALSE(event.ok()) << key;
    EXPECT_EQ(event.status().message(),
              "event data: \"" + key + "\" is reserved: the receiver adds it itself");
  }
  // Nested objects are the worker's own business.
  EXPECT_TRUE(ParseEventBody(R"(7 i-1 approval {"request":{"node_id":1}})").ok());
}

TEST(WorkerProtocolTest, AcceptedEventSplicesIntoAClientLineWithTheRoutersIds) {
  auto event = ParseEventBody(R"(3 i-1 usage { "total_tokens" : 42 } )");
  ASSERT_TRUE(event.ok()) << event.status().message();
  std::string line;
  AppendRuntimeEventLine(line, 5, "2026-01-01T00:00:00.000Z", event->event,
                         R"("swarm_id":"s-1","job_id":"j-1","node_id":0)", event->injection_id,
                         event->data);
  EXPECT_EQ(line,
            R"({"protocol":"codeswarm.router.v1","type":"event","seq":5,)"
            R"("timestamp":"2026-01-01T00:00:00.000Z","event":"usage","data":{"swarm_id":"s-1",)"
            R"("job_id":"j-1","node_id":0,"injection_id":"i-1", "total_tokens" : 42 }})"
            "\n");
}

TEST(WorkerProtocolTest, ApprovalRequestIsARuntimeEvent) {
  EXPECT_TRUE(ParseEventBody(
                  R"(3 i-1 approval_request {"approval_id":"a-1","kind":"command","subject":"ls"})")
                  .ok());
}

TEST(WorkerProtocolTest, HelloCarriesWaitingApprovalsBothWays) {
  Hello hello;
  hello.swarm_id = "s-1";
  hello.instance = "w-1";
  hello.holding = {"i-1"};
  hello.approvals = {{"a-1", "i-1", "command", "touch x"}};
  std::string line = FormatMessage("hello", HelloToJson(hello));
  Result<Hello> parsed = ParseHello(SplitWorkerLine(line.substr(0, line.size() - 1))->body);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->approvals, hello.approvals);
  // A worker that waits on nothing says nothing (and an older worker's hello still parses).
  hello.approvals.clear();
  EXPECT_EQ(HelloToJson(hello).if_contains("approvals"), nullptr);
  EXPECT_FALSE(ParseHello(R"({"protocol":"codeswarm.worker.v2","swarm_id":"s","node_id":0,)"
                          R"("instance":"w","approvals":[{"approval_id":"a 1","injection_id":"i"}]})")
                   .ok());
}

TEST(WorkerProtocolTest, ApprovalDecisionIsParsedAndChecked) {
  Result<ApprovalDecision> d = ParseApprovalDecision(R"({"approval_id":"a-1","decision":"accept"})");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->approval_id, "a-1");
  EXPECT_EQ(d->decision, "accept");
  EXPECT_FALSE(ParseApprovalDecision(R"({"approval_id":"a-1","decision":"yes"})").ok());
  EXPECT_FALSE(ParseApprovalDecision(R"({"decision":"accept"})").ok());
  EXPECT_EQ(boost::json::serialize(ApprovalDecisionToJson(*d)),
            R"({"approval_id":"a-1","decision":"accept"})");
}

}  // namespace
}  // namespace codeswarm::protocol
