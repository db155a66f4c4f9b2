#include "cli/render.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cli/endpoint.h"
#include "common/json_reader.h"

namespace codeswarm::cli {
namespace {

boost::json::object Data(std::string_view text) { return ParseJsonObject(text).value(); }

TEST(CliRenderTest, ListIsATableSortedByCreationTime) {
  boost::json::object data = Data(R"({"request_id":"cli-1-1","swarms":{
    "s-bbbbbbbb":{"job_id":"local-s-bbbbbbbb","node_count":12,"system_prompt":"x",
      "status":"running","backend":"local","agent_kind":"mock","nodes_connected":12,
      "created_at":"2026-11-25T01:02:03.456Z","future_field":1,"cost_usd":1.23456},
    "s-aaaaaaaa":{"job_id":"4242","node_count":2,"system_prompt":"",
      "status":"pending","backend":"slurm","agent_kind":"codex","nodes_connected":0,
      "created_at":"2026-11-25T01:00:00.000Z","cost_usd":null,"cost_note":"no price"}}})");
  EXPECT_EQ(RenderSwarmList(data),
            "SWARM       STATUS   NODES  CONNECTED  BACKEND  JOB               AGENT  COST     "
            "CREATED\n"
            "s-aaaaaaaa  pending  2      0          slurm    4242              codex  -        "
            "2026-11-25T01:00:00.000Z\n"
            "s-bbbbbbbb  running  12     12         local    local-s-bbbbbbbb  mock   $1.2346  "
            "2026-11-25T01:02:03.456Z\n");
}

TEST(CliRenderTest, EmptyListSaysSo) {
  EXPECT_EQ(RenderSwarmList(Data(R"({"request_id":"r","swarms":{}})")), "no swarms\n");
  EXPECT_EQ(RenderSwarmList(Data(R"({"request_id":"r"})")), "no swarms\n");
}

TEST(CliRenderTest, StatusHasAHeaderAndANodeTable) {
  boost::json::object data = Data(R"({"request_id":"r-4","swarm_id":"s-3f9a1c2e",
    "job_id":"local-s-3f9a1c2e","node_count":2,"status":"running","backend":"local",
    "backend_state":"RUNNING","reason":"","agent_kind":"mock","system_prompt":"...",
    "created_at":"2026-11-25T01:02:03.456Z","nodes_connected":1,"model":"mock",
    "cost_usd":0.0021,
    "nodes":[{"node_id":0,"state":"busy","queued":2,"running_injection":"i-0c1d2e3f",
              "turns_completed":3,"total_tokens":120,"hostname":"n1","cost_usd":0.0021},
             {"node_id":1,"state":"waiting","queued":0,"running_injection":null,
              "turns_completed":0,"total_tokens":0,"hostname":null,"cost_usd":0}]})");
  EXPECT_EQ(RenderSwarmStatus(data),
            "swarm:          s-3f9a1c2e\n"
            "status:         running\n"
            "backend:        local\n"
            "job:            local-s-3f9a1c2e\n"
            "backend state:  RUNNING\n"
            "agent:          mock\n"
            "model:          mock\n"
            "cost:           $0.002100 (estimated)\n"
            "nodes:          2\n"
            "connected:      1\n"
            "created:        2026-11-25T01:02:03.456Z\n"
            "\n"
            "NODE  STATE    QUEUED  RUNNING     TURNS  TOKENS  COST       HOST\n"
            "0     busy     2       i-0c1d2e3f  3      120     $0.002100  n1\n"
            "1     waiting  0       -           0      0       $0.0000    -\n");
}

TEST(CliRenderTest, StatusSaysWhyACostIsUnknownInsteadOfShowingZero) {
  boost::json::object data = Data(R"({"swarm_id":"s-1","job_id":"77","node_count":1,
    "status":"running","agent_kind":"codex","model":"my-model","cost_usd":null,
    "cost_note":"no price for model \"my-model\"; add it to the config's pricing"})");
  EXPECT_NE(RenderSwarmHeader(data).find(
                "cost:       unknown: no price for model \"my-model\"; add it to the "
                "config's pricing\n"),
            std::string::npos)
      << RenderSwarmHeader(data);
}

TEST(CliRenderTest, StatusHeaderShowsTheReasonWhenThereIsOne) {
  boost::json::object data = Data(R"({"swarm_id":"s-1","job_id":"77","node_count":1,
    "status":"pending","backend":"slurm","backend_state":"PENDING","reason":"Resources",
    "agent_kind":"codex","created_at":"t","nodes_connected":0,"nodes":[]})");
  EXPECT_EQ(RenderSwarmHeader(data),
            "swarm:          s-1\n"
            "status:         pending\n"
            "backend:        slurm\n"
            "job:            77\n"
            "backend state:  PENDING\n"
            "reason:         Resources\n"
            "agent:          codex\n"
            "nodes:          1\n"
            "connected:      0\n"
            "created:        t\n");
}

TEST(CliRenderTest, SwarmUpdateIsOneLine) {
  EXPECT_EQ(FormatSwarmUpdate(Data(R"({"swarm_id":"s-1","status":"pending",
    "backend_state":"PENDING","reason":"Resources","node_count":4,"nodes_connected":0})")),
            "swarm s-1 pending (PENDING: Resources), nodes connected 0/4");
  EXPECT_EQ(FormatSwarmUpdate(Data(R"({"swarm_id":"s-1","status":"running",
    "backend_state":"RUNNING","reason":""})")),
            "swarm s-1 running (RUNNING)");
}

TEST(CliRenderTest, NodeListsCollapseRuns) {
  EXPECT_EQ(FormatNodeList({3, 0, 1, 2, 5, 7, 8}), "0-3,5,7-8");
  EXPECT_EQ(FormatNodeList({4}), "4");
  EXPECT_EQ(FormatNodeList({}), "");
}

TEST(CliRenderTest, TableAlignsColumnsWithoutTrailingSpaces) {
  EXPECT_EQ(RenderTable({{"A", "BB", "C"}, {"long", "x", ""}}), "A     BB  C\nlong  x\n");
}

TEST(CliEndpointTest, ParsesHostPortAndRecognisesLoopback) {
  Result<Endpoint> v4 = ParseEndpoint("127.0.0.1:8765");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8765);
  Result<Endpoint> v6 = ParseEndpoint("[::1]:9000");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->ToString(), "[::1]:9000");
  EXPECT_EQ(ParseEndpoint("host:0").status().message(),
            "invalid router address \"host:0\": port must be 1-65535 (expected HOST:PORT)");
  EXPECT_FALSE(ParseEndpoint("host").ok());
  EXPECT_FALSE(ParseEndpoint(":80").ok());
  EXPECT_FALSE(ParseEndpoint("::1:80").ok());

  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.8.9.10"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("128.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("login.cluster.example"));
}

}  // namespace
}  // namespace codeswarm::cli
