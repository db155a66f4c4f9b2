#include "worker/claude/claude_protocol.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace codeswarm::worker::claude {
namespace {
namespace json = boost::json;

TEST(ClaudeProtocolTest, UserMessageLineCarriesThePromptAsOneTextBlock) {
  EXPECT_EQ(UserMessageLine("Say \"hi\"\n$(id)"),
            R"j({"type":"user","message":{"role":"user","content":[{"type":"text","text":"Say \"hi\"\n$(id)"}]}})j");
}

TEST(ClaudeProtocolTest, ControlRequestLine) {
  EXPECT_EQ(ControlRequestLine("codeswarm-interrupt-2", "interrupt"),
            R"({"type":"control_request","request_id":"codeswarm-interrupt-2","request":{"subtype":"interrupt"}})");
}

TEST(ClaudeProtocolTest, PermissionAnswerAllowsWithTheInputUnchanged) {
  json::value input = json::parse(R"({"command":"touch x","description":"d"})");
  EXPECT_EQ(json::parse(PermissionAnswerLine("r-1", true, input, "no")),
            json::parse(R"({"type":"control_response","response":{"subtype":"success","request_id":"r-1",
                            "response":{"behavior":"allow","updatedInput":{"command":"touch x","description":"d"}}}})"));
}

TEST(ClaudeProtocolTest, PermissionAnswerDeniesWithAMessage) {
  EXPECT_EQ(json::parse(PermissionAnswerLine("r-2", false, json::object{}, "not allowed")),
            json::parse(R"({"type":"control_response","response":{"subtype":"success","request_id":"r-2",
                            "response":{"behavior":"deny","message":"not allowed"}}})"));
}

TEST(ClaudeProtocolTest, ControlErrorLine) {
  EXPECT_EQ(json::parse(ControlErrorLine("r-3", "unsupported")),
            json::parse(R"({"type":"control_response","response":{"subtype":"error","request_id":"r-3","error":"unsupported"}})"));
}

TEST(ClaudeProtocolTest, ToolSubjectSummarisesTheInput) {
  EXPECT_EQ(ToolSubject("Bash", json::parse(R"({"command":"touch a\nb","description":"d"})")),
            "Bash: touch a b");
  EXPECT_EQ(ToolSubject("Edit", json::parse(R"({"file_path":"src/a.cc","old_string":"x"})")),
            "Edit: src/a.cc");
  EXPECT_EQ(ToolSubject("mcp__x__y", json::parse(R"({"n":1})")), R"(mcp__x__y: {"n":1})");
  EXPECT_EQ(ToolSubject("Read", json::object{}), "Read");
  EXPECT_EQ(ToolSubject("", json::value(nullptr)), "(unnamed tool)");
}

TEST(ClaudeProtocolTest, ToolSubjectIsShort) {
  std::string subject = ToolSubject("Bash", json::object{{"command", std::string(5000, 'x')}});
  EXPECT_LE(subject.size(), 210u);
  EXPECT_EQ(subject.substr(0, 8), "Bash: xx");
}

TEST(ClaudeProtocolTest, UsageCountsCacheReadsAndCreationAsCachedInput) {
  TokenUsage u = UsageFromResult(json::parse(R"({"input_tokens":50,"cache_creation_input_tokens":7,
      "cache_read_input_tokens":100,"output_tokens":10,"output_tokens_details":{"thinking_tokens":4}})")
                                     .get_object());
  EXPECT_EQ(u.input_tokens, 157);
  EXPECT_EQ(u.cached_input_tokens, 107);
  EXPECT_EQ(u.output_tokens, 10);
  EXPECT_EQ(u.reasoning_output_tokens, 4);
  EXPECT_EQ(u.total_tokens, 167);
}

TEST(ClaudeProtocolTest, UsageWithMissingFieldsCountsZero) {
  TokenUsage u = UsageFromResult(json::parse(R"({"output_tokens":3,"input_tokens":"x"})").get_object());
  EXPECT_EQ(u.input_tokens, 0);
  EXPECT_EQ(u.output_tokens, 3);
  EXPECT_EQ(u.total_tokens, 3);
}

}  // namespace
}  // namespace codeswarm::worker::claude
