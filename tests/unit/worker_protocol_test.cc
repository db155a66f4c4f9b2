#include "protocol/worker_protocol.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace codeswarm::protocol
