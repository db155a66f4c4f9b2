// One row per kind of bad input of docs/PROTOCOL.md, each with the exact rejection.
#include "protocol/client_protocol.h"

#include <gtest/gtest.h>

#include <ostream>
#include <variant>

#include "common/text.h"

namespace codeswarm::protocol {
namespace {

std::string Cmd(const std::string& command, const std::string& payload) {
  return R"({"protocol":"codeswarm.router.v1","type":"command","command":")" + command +
         R"(","request_id":"r1","payload":)" + payload + "}";
}

struct BadLine {
  std::string name;
  std::string line;
  RejectCode code;
  std::string reason;
  std::optional<std::string> request_id;
};

// Names the row in test listings instead of a byte dump of the struct.
void PrintTo(const BadLine& row, std::ostream* out) { *out << row.name; }

class BadCommandTest : public testing::TestWithParam<BadLine> {};

TEST_P(BadCommandTest, IsRejectedWithExactReason) {
  const BadLine& row = GetParam();
  auto parsed = ParseCommandLine(row.line, ParseLimits{.max_nodes = 8});
  ASSERT_TRUE(std::holds_alternative<Rejection>(parsed)) << row.line;
  const Rejection& rejection = std::get<Rejection>(parsed);
  EXPECT_EQ(RejectCodeName(rejection.code), RejectCodeName(row.code));
  EXPECT_EQ(rejection.reason, row.reason);
  EXPECT_EQ(rejection.request_id, row.request_id);
}

const std::optional<std::string> kR1 = "r1";

INSTANTIATE_TEST_SUITE_P(
    Envelope, BadCommandTest,
    testing::Values(
        BadLine{"NotJson", "hello", RejectCode::kInvalidJson, "not valid JSON: syntax error",
                std::nullopt},
        BadLine{"TruncatedJson", R"({"protocol":)", RejectCode::kInvalidJson,
                "not valid JSON: incomplete JSON", std::nullopt},
        BadLine{"EmptyLine", "", RejectCode::kInvalidJson,
                "empty line (expected a JSON command object)", std::nullopt},
        BadLine{"Array", "[1,2]", RejectCode::kInvalidEnvelope,
                "expected a JSON object, got a list", std::nullopt},
        BadLine{"String", R"("inject")", RejectCode::kInvalidEnvelope,
                "expected a JSON object, got string \"inject\"", std::nullopt},
        BadLine{"InvalidUtf8", "{\"request_id\":\"\xC3(\"}", RejectCode::kInvalidUtf8,
                "line is not valid UTF-8 (byte 15)", std::nullopt},
        BadLine{"MissingRequestId",
                R"({"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","payload":{}})",
                RejectCode::kInvalidEnvelope, "request_id: missing (required)", std::nullopt},
        BadLine{"NumericRequestId",
                R"({"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","request_id":7,"payload":{}})",
                RejectCode::kInvalidEnvelope, "request_id: expected a string, got integer 7",
                std::nullopt},
        BadLine{"EmptyRequestId",
                R"({"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","request_id":"","payload":{}})",
                RejectCode::kInvalidEnvelope, "request_id: must be 1 to 256 characters",
                std::nullopt},
        BadLine{"MissingProtocol",
                R"({"type":"command","command":"swarm_list","request_id":"r1","payload":{}})",
                RejectCode::kInvalidEnvelope,
                "protocol: missing (required; expected \"codeswarm.router.v1\")", kR1},
        BadLine{"WrongProtocol",
                R"({"protocol":"codeswarm.router.v0","type":"command","command":"swarm_list","request_id":"r1","payload":{}})",
                RejectCode::kInvalidEnvelope,
                "protocol: expected \"codeswarm.router.v1\", got string \"codeswarm.router.v0\"",
                kR1},
        BadLine{"WrongType",
                R"({"protocol":"codeswarm.router.v1","type":"event","command":"swarm_list","request_id":"r1","payload":{}})",
                RejectCode::kInvalidEnvelope, "type: expected \"command\", got string \"event\"",
                kR1},
        BadLine{"MissingCommand",
                R"({"protocol":"codeswarm.router.v1","type":"command","request_id":"r1","payload":{}})",
                RejectCode::kInvalidEnvelope, "command: missing (required)", kR1},
        BadLine{"NumericCommand",
                R"({"protocol":"codeswarm.router.v1","type":"command","command":3,"request_id":"r1","payload":{}})",
                RejectCode::kInvalidEnvelope, "command: expected a string, got integer 3", kR1},
        BadLine{"MissingPayload",
                R"({"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","request_id":"r1"})",
                RejectCode::kInvalidEnvelope, "payload: missing (required; use {} for none)", kR1},
        BadLine{"PayloadNotObject", Cmd("swarm_list", "[]"), RejectCode::kInvalidEnvelope,
                "payload: expected an object, got a list", kR1},
        BadLine{"UnknownCommand", Cmd("swarm_luanch", "{}"), RejectCode::kUnknownCommand,
                "unknown command \"swarm_luanch\" (known: swarm_launch, inject, interrupt, "
                "swarm_list, swarm_status, swarm_terminate, subscribe, approval_decide)",
                kR1}),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Payload, BadCommandTest,
    testing::Values(
        BadLine{"LaunchNodesMissing", Cmd("swarm_launch", "{}"), RejectCode::kInvalidPayload,
                "payload.nodes: missing (required)", kR1},
        BadLine{"LaunchNodesZero", Cmd("swarm_launch", R"({"nodes":0})"),
                RejectCode::kInvalidPayload,
                "payload.nodes: expected an integer from 1 to 8, got integer 0", kR1},
        BadLine{"LaunchNodesAboveMax", Cmd("swarm_launch", R"({"nodes":9})"),
                RejectCode::kInvalidPayload,
                "payload.nodes: expected an integer from 1 to 8, got integer 9", kR1},
        BadLine{"LaunchNodesString", Cmd("swarm_launch", R"({"nodes":"4"})"),
                RejectCode::kInvalidPayload,
                "payload.nodes: expected an integer from 1 to 8, got string \"4\"", kR1},
        BadLine{"LaunchNodesFraction", Cmd("swarm_launch", R"({"nodes":2.5})"),
                RejectCode::kInvalidPayload,
                "payload.nodes: expected an integer from 1 to 8, got number 2.5", kR1},
        BadLine{"LaunchPromptNotString", Cmd("swarm_launch", R"({"nodes":2,"system_prompt":1})"),
                RejectCode::kInvalidPayload, "payload.system_prompt: expected a string, got integer 1",
                kR1},
        BadLine{"LaunchAgentNotObject", Cmd("swarm_launch", R"({"nodes":2,"agent":"mock"})"),
                RejectCode::kInvalidPayload,
                "payload.agent: expected an object, got string \"mock\"", kR1},
        BadLine{"LaunchUnknownField",
                Cmd("swarm_launch", R"({"nodes":2,"system_promt":"x"})"),
                RejectCode::kInvalidPayload, "payload.system_promt: unknown key", kR1},
        BadLine{"InjectMissingSwarm", Cmd("inject", R"({"content":"hi"})"),
                RejectCode::kInvalidPayload, "payload.swarm_id: missing (required)", kR1},
        BadLine{"InjectContentNotString", Cmd("inject", R"({"swarm_id":"s-1","content":5})"),
                RejectCode::kInvalidPayload, "payload.content: expected a string, got integer 5",
                kR1},
        BadLine{"InjectContentMissing", Cmd("inject", R"({"swarm_id":"s-1"})"),
                RejectCode::kInvalidPayload, "payload.content: missing (required)", kR1},
        BadLine{"InjectContentEmpty", Cmd("inject", R"({"swarm_id":"s-1","content":""})"),
                RejectCode::kInvalidPayload, "payload.content: must not be empty", kR1},
        BadLine{"InjectNodesNegative",
                Cmd("inject", R"({"swarm_id":"s-1","nodes":-1,"content":"x"})"),
                RejectCode::kInvalidPayload, "payload.nodes: node ids are not negative, got -1",
                kR1},
        BadLine{"InjectNodesNonInteger",
                Cmd("inject", R"({"swarm_id":"s-1","nodes":1.5,"content":"x"})"),
                RejectCode::kInvalidPayload,
                "payload.nodes: expected a node id (integer), got number 1.5", kR1},
        BadLine{"InjectNodesWord",
                Cmd("inject", R"({"swarm_id":"s-1","nodes":"some","content":"x"})"),
                RejectCode::kInvalidPayload,
                "payload.nodes: expected \"all\", a node id or a list of node ids, got string "
                "\"some\"",
                kR1},
        BadLine{"InjectNodesEmptyList",
                Cmd("inject", R"({"swarm_id":"s-1","nodes":[],"content":"x"})"),
                RejectCode::kInvalidPayload,
                "payload.nodes: empty list (name at least one node, or use \"all\")", kR1},
        BadLine{"InjectNodesDuplicates",
                Cmd("inject", R"({"swarm_id":"s-1","nodes":[1,2,1],"content":"x"})"),
                RejectCode::kInvalidPayload, "payload.nodes: duplicate node 1", kR1},
        BadLine{"InjectNodesListWithString",
                Cmd("inject", R"({"swarm_id":"s-1","nodes":[0,"1"],"content":"x"})"),
                RejectCode::kInvalidPayload,
                "payload.nodes: [1]: expected a node id (integer), got string \"1\"", kR1},
        BadLine{"StatusSwarmIdNotString", Cmd("swarm_status", R"({"swarm_id":[]})"),
                RejectCode::kInvalidPayload, "payload.swarm_id: expected a string, got a list",
                kR1},
        BadLine{"TerminateMissingSwarm", Cmd("swarm_terminate", "{}"),
                RejectCode::kInvalidPayload, "payload.swarm_id: missing (required)", kR1},
        BadLine{"ListWithPayloadField", Cmd("swarm_list", R"({"all":true})"),
                RejectCode::kInvalidPayload, "payload.all: unknown key", kR1},
        BadLine{"SubscribeNegativeSeq", Cmd("subscribe", R"({"since_seq":-1})"),
                RejectCode::kInvalidPayload, "payload.since_seq: expected an integer from 0 to 9223372036854775807, got integer -1", kR1},
        BadLine{"SubscribeEmptySwarm", Cmd("subscribe", R"({"swarm_id":""})"),
                RejectCode::kInvalidPayload, "payload.swarm_id: must not be empty", kR1},
        BadLine{"DecideWithoutDecision",
                Cmd("approval_decide", R"({"swarm_id":"s-1","node_id":0,"approval_id":"a-1"})"),
                RejectCode::kInvalidPayload, "payload.decision: missing (required)", kR1},
        BadLine{"DecideMaybe",
                Cmd("approval_decide",
                    R"({"swarm_id":"s-1","node_id":0,"approval_id":"a-1","decision":"maybe"})"),
                RejectCode::kInvalidPayload,
                "payload.decision: expected one of \"accept\", \"decline\", got \"maybe\"", kR1},
        BadLine{"DecideNegativeNode",
                Cmd("approval_decide",
                    R"({"swarm_id":"s-1","node_id":-1,"approval_id":"a-1","decision":"accept"})"),
                RejectCode::kInvalidPayload,
                "payload.node_id: expected an integer from 0 to 7, got integer -1", kR1},
        BadLine{"DecideApprovalIdWithSpace",
                Cmd("approval_decide",
                    R"({"swarm_id":"s-1","node_id":0,"approval_id":"a 1","decision":"accept"})"),
                RejectCode::kInvalidPayload,
                "payload.approval_id: expected an id such as \"a-0c1d2e3f4a5b\", got \"a 1\"",
                kR1}),
    [](const auto& info) { return info.param.name; });

TEST(ClientProtocolTest, ParsesLaunch) {
  auto parsed = ParseCommandLine(
      Cmd("swarm_launch", R"({"nodes":4,"system_prompt":"be brief","agent":{"kind":"mock"}})"),
      {});
  ASSERT_TRUE(std::holds_alternative<Command>(parsed));
  const Command& command = std::get<Command>(parsed);
  EXPECT_EQ(command.kind, CommandKind::kSwarmLaunch);
  EXPECT_EQ(command.request_id, "r1");
  const auto& launch = std::get<LaunchPayload>(command.payload);
  EXPECT_EQ(launch.nodes, 4);
  EXPECT_EQ(launch.system_prompt, "be brief");
  EXPECT_EQ(launch.agent_json, R"({"kind":"mock"})");
}

TEST(ClientProtocolTest, ParsesApprovalDecide) {
  auto parsed = ParseCommandLine(
      Cmd("approval_decide",
          R"({"swarm_id":"s-1","node_id":3,"approval_id":"a-0c1d2e3f4a5b","decision":"decline"})"),
      {});
  ASSERT_TRUE(std::holds_alternative<Command>(parsed));
  EXPECT_EQ(std::get<Command>(parsed).kind, CommandKind::kApprovalDecide);
  const auto& decide = std::get<ApprovalDecidePayload>(std::get<Command>(parsed).payload);
  EXPECT_EQ(decide.swarm_id, "s-1");
  EXPECT_EQ(decide.node_id, 3);
  EXPECT_EQ(decide.approval_id, "a-0c1d2e3f4a5b");
  EXPECT_EQ(decide.decision, "decline");
}

TEST(ClientProtocolTest, ParsesSubscribeWithAndWithoutItsOptionalFields) {
  auto parsed = ParseCommandLine(Cmd("subscribe", R"({"since_seq":42,"swarm_id":"s-1"})"), {});
  ASSERT_TRUE(std::holds_alternative<Command>(parsed));
  EXPECT_EQ(std::get<Command>(parsed).kind, CommandKind::kSubscribe);
  const auto& subscribe = std::get<SubscribePayload>(std::get<Command>(parsed).payload);
  EXPECT_EQ(subscribe.since_seq, 42u);
  EXPECT_EQ(subscribe.swarm_id, "s-1");
  parsed = ParseCommandLine(Cmd("subscribe", "{}"), {});
  ASSERT_TRUE(std::holds_alternative<Command>(parsed));
  const auto& all = std::get<SubscribePayload>(std::get<Command>(parsed).payload);
  EXPECT_EQ(all.since_seq, 0u);
  EXPECT_EQ(all.swarm_id, "");
}

TEST(ClientProtocolTest, ParsesInjectSelectors) {
  struct Row {
    std::string nodes;
    bool all;
    std::vector<int> list;
  };
  for (const Row& row : {Row{"", true, {}}, Row{R"(,"nodes":"all")", true, {}},
                         Row{R"(,"nodes":3)", false, {3}}, Row{R"(,"nodes":[5,0,2])", false, {0, 2, 5}}}) {
    auto parsed =
        ParseCommandLine(Cmd("inject", R"({"swarm_id":"s-1","content":"hi")" + row.nodes + "}"), {});
    ASSERT_TRUE(std::holds_alternative<Command>(parsed)) << row.nodes;
    const auto& inject = std::get<InjectPayload>(std::get<Command>(parsed).payload);
    EXPECT_EQ(inject.nodes.all, row.all);
    EXPECT_EQ(inject.nodes.nodes, row.list);
    EXPECT_EQ(inject.content, "hi");
  }
}

TEST(ClientProtocolTest, UnknownTopLevelFieldsAreIgnored) {
  auto parsed = ParseCommandLine(
      R"({"protocol":"codeswarm.router.v1","type":"command","command":"swarm_list","request_id":"r","payload":{},"trace":"x"})",
      {});
  EXPECT_TRUE(std::holds_alternative<Command>(parsed));
}

TEST(ClientProtocolTest, HostileContentIsKeptVerbatim) {
  std::string hostile = R"(it's \"$(rm -rf ~)\" `id`\n; DROP TABLE swarms;)";
  auto parsed = ParseCommandLine(Cmd("inject", R"({"swarm_id":"s-1","content":")" + hostile + "\"}"), {});
  ASSERT_TRUE(std::holds_alternative<Command>(parsed));
  EXPECT_EQ(std::get<InjectPayload>(std::get<Command>(parsed).payload).content,
            "it's \"$(rm -rf ~)\" `id`\n; DROP TABLE swarms;");
}

TEST(ClientProtocolTest, RejectionQuotingALongMultibyteStringIsValidUtf8) {
  // Regression (found by fuzz_client_line): a quoted value was cut at 40 bytes inside a
  // character, and the command_rejected event carried the broken UTF-8 to every client.
  std::string value = std::string(39, 'a') + "\xC3\xA9\xC3\xA9";
  auto parsed = ParseCommandLine("\"" + value + "\"", {});
  ASSERT_TRUE(std::holds_alternative<Rejection>(parsed));
  const Rejection& rejection = std::get<Rejection>(parsed);
  EXPECT_EQ(rejection.reason,
            "expected a JSON object, got string \"" + std::string(39, 'a') + "\"...");
  EXPECT_FALSE(FindInvalidUtf8(rejection.reason).has_value());
}

TEST(ClientProtocolTest, NumberBeyondTheRangeOfADoubleIsRefused) {
  // Regression (found by fuzz_client_line): Boost.JSON reads 1e400 as infinity and writes it
  // back as `Infinity`, so an accepted agent override became text that is not JSON, and the
  // router's json::parse of it when launching threw.
  auto parsed =
      ParseCommandLine(Cmd("swarm_launch", R"({"nodes":1,"agent":{"temperature":1e400}})"), {});
  ASSERT_TRUE(std::holds_alternative<Rejection>(parsed));
  EXPECT_EQ(std::get<Rejection>(parsed).code, RejectCode::kInvalidJson);
  EXPECT_EQ(std::get<Rejection>(parsed).request_id, "r1");
  EXPECT_EQ(std::get<Rejection>(parsed).reason,
            "not valid JSON: a number is out of range (beyond the range of a double)");
}

TEST(NodeSelectorTest, ResolveChecksRange) {
  NodeSelector all;
  EXPECT_EQ(all.Resolve(3, "s-1").value(), (std::vector<int>{0, 1, 2}));
  NodeSelector some{false, {0, 7}};
  auto r = some.Resolve(4, "s-1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "payload.nodes: node 7 is out of range (swarm s-1 has nodes 0-3)");
}

}  // namespace
}  // namespace codeswarm::protocol
