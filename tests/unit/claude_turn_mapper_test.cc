#include "worker/claude/claude_turn_mapper.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "unit/recording_sink.h"

namespace codeswarm::worker::claude {
namespace {
namespace json = boost::json;

// What one turn of a recorded transcript gives when replayed through a mapper.
struct Replay {
  RecordingSink sink;
  std::vector<json::value> answers;           // the mapper's answers to control requests
  std::vector<json::value> recorded_answers;  // what was answered when it was recorded
  bool finished = false;
  TurnOutcome outcome;
};

std::vector<json::object> ReadTranscript(const std::string& name) {
  std::ifstream in(std::string(CODESWARM_SOURCE_DIR) + "/tests/fixtures/claude/" + name);
  EXPECT_TRUE(in) << name;
  std::vector<json::object> entries;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) entries.push_back(json::parse(line).as_object());
  }
  return entries;
}

bool IsUserInput(const json::object& entry) {
  return entry.at("dir") == "in" && entry.at("msg").as_object().at("type") == "user";
}

// Replays turn `turn` (0 = the first user message written) of transcript `name`: feeds the
// messages claude wrote to a mapper until it finishes, marking the interrupt where one was sent.
std::unique_ptr<Replay> ReplayTurn(const std::string& name, int turn,
                                   const std::string& decision = "accept") {
  auto replay = std::make_unique<Replay>();
  std::vector<json::object> entries = ReadTranscript(name);
  ClaudeTurnMapper mapper(replay->sink, decision);
  int seen = -1;
  for (const json::object& entry : entries) {
    if (IsUserInput(entry)) ++seen;
    if (seen != turn || !entry.at("msg").is_object()) continue;
    const json::object& msg = entry.at("msg").as_object();
    if (entry.at("dir") == "in" && msg.at("type") == "control_response") {
      replay->recorded_answers.push_back(msg);
    } else if (entry.at("dir") == "in" && msg.at("type") == "control_request") {
      mapper.SetInterruptRequested();
    } else if (entry.at("dir") == "out") {
      if (auto answer = mapper.OnMessage(msg)) replay->answers.push_back(json::parse(*answer));
      if (mapper.finished()) break;
    }
  }
  replay->finished = mapper.finished();
  if (replay->finished) replay->outcome = mapper.outcome();
  return replay;
}

TokenUsage Usage(int64_t input, int64_t cached, int64_t output) {
  return {input, cached, output, 0, input + output};
}

TEST(ClaudeTurnMapperTest, StreamedDeltasMessageAndUsageFromPartialMessages) {
  for (int turn : {0, 1}) {
    auto r = ReplayTurn("claude_transcript_partial.jsonl", turn);
    ASSERT_TRUE(r->finished);
    EXPECT_EQ(r->outcome.status, TurnOutcome::Status::kCompleted);
    EXPECT_EQ(r->sink.deltas,
              (std::vector<std::string>{"Hello", " from", " the", " stub", " Anthropic", " model."}));
    EXPECT_EQ(r->sink.messages, std::vector<std::string>{"Hello from the stub Anthropic model."});
    ASSERT_EQ(r->sink.usages.size(), 1u);
    EXPECT_EQ(r->sink.usages[0], Usage(50, 0, 10));
    EXPECT_EQ(r->sink.calls.back(), "usage");
  }
}

TEST(ClaudeTurnMapperTest, WithoutPartialMessagesTheAssistantTextIsOneDelta) {
  auto r = ReplayTurn("claude_transcript.jsonl", 0);
  ASSERT_TRUE(r->finished);
  EXPECT_EQ(r->outcome.status, TurnOutcome::Status::kCompleted);
  EXPECT_EQ(r->sink.deltas, std::vector<std::string>{"Hello from the stub Anthropic model."});
  EXPECT_EQ(r->sink.messages, std::vector<std::string>{"Hello from the stub Anthropic model."});
  EXPECT_EQ(r->sink.calls, (std::vector<std::string>{"delta", "message", "usage"}));
}

TEST(ClaudeTurnMapperTest, PermissionRequestIsAllowedAndReported) {
  auto r = ReplayTurn("claude_transcript_permission.jsonl", 0, "accept");
  ASSERT_TRUE(r->finished);
  EXPECT_EQ(r->outcome.status, TurnOutcome::Status::kCompleted);
  ASSERT_EQ(r->sink.approvals.size(), 1u);
  EXPECT_EQ(r->sink.approvals[0],
            (RecordedApproval{"tool", "Bash: touch /srv/probe/work/claude_made.txt && echo created",
                              "accept"}));
  EXPECT_EQ(r->answers, r->recorded_answers);
  EXPECT_EQ(r->sink.messages, std::vector<std::string>{"Done. The tool call finished."});
  EXPECT_EQ(r->sink.usages[0], Usage(110, 0, 30));
}

TEST(ClaudeTurnMapperTest, PermissionRequestIsDeniedAndReported) {
  auto r = ReplayTurn("claude_transcript_deny.jsonl", 0, "decline");
  ASSERT_TRUE(r->finished);
  EXPECT_EQ(r->outcome.status, TurnOutcome::Status::kCompleted);
  ASSERT_EQ(r->sink.approvals.size(), 1u);
  EXPECT_EQ(r->sink.approvals[0].decision, "decline");
  EXPECT_EQ(r->sink.approvals[0].subject, "Bash: touch /srv/probe/work/claude_denied.txt");
  ASSERT_EQ(r->answers.size(), 1u);
  const json::object& response = r->answers[0].at("response").as_object();
  EXPECT_EQ(response.at("request_id"), r->recorded_answers.at(0).at("response").at("request_id"));
  EXPECT_EQ(response.at("response").at("behavior"), "deny");
}

TEST(ClaudeTurnMapperTest, InterruptedTurnEndsInterrupted) {
  auto r = ReplayTurn("claude_transcript_interrupt.jsonl", 0);
  ASSERT_TRUE(r->finished);
  EXPECT_EQ(r->outcome.status, TurnOutcome::Status::kInterrupted);
  EXPECT_EQ(r->sink.deltas, std::vector<std::string>{"one"});
  EXPECT_EQ(r->sink.messages, std::vector<std::string>{"one"});

  auto next = ReplayTurn("claude_transcript_interrupt.jsonl", 1);
  ASSERT_TRUE(next->finished);
  EXPECT_EQ(next->outcome.status, TurnOutcome::Status::kCompleted);
  EXPECT_EQ(next->sink.messages, std::vector<std::string>{"Hello from the stub Anthropic model."});
}

TEST(ClaudeTurnMapperTest, TheSameResultWithoutAnInterruptRequestIsAFailure) {
  std::vector<json::object> entries = ReadTranscript("claude_transcript_interrupt.jsonl");
  RecordingSink sink;
  ClaudeTurnMapper mapper(sink, "accept");
  for (const json::object& entry : entries) {
    const json::value& msg = entry.at("msg");
    if (entry.at("dir") == "out" && msg.at("type") == "result") {
      mapper.OnMessage(msg.as_object());
      break;
    }
  }
  ASSERT_TRUE(mapper.finished());
  EXPECT_EQ(mapper.outcome().status, TurnOutcome::Status::kFailed);
  EXPECT_NE(mapper.outcome().error.find("result_type=user"), std::string::npos)
      << mapper.outcome().error;
}

TEST(ClaudeTurnMapperTest, ApiErrorsFailTheTurnWithClaudesMessage) {
  const std::string file = "claude_transcript_api_errors.jsonl";
  auto unauthorised = ReplayTurn(file, 0);
  ASSERT_TRUE(unauthorised->finished);
  EXPECT_EQ(unauthorised->outcome.status, TurnOutcome::Status::kFailed);
  EXPECT_EQ(unauthorised->outcome.error, "Invalid API key · Fix external API key (HTTP 401)");
  // claude's synthetic assistant message is its error notice, not model text.
  EXPECT_TRUE(unauthorised->sink.deltas.empty());
  EXPECT_TRUE(unauthorised->sink.messages.empty());

  auto server_error = ReplayTurn(file, 1);
  EXPECT_EQ(server_error->outcome.status, TurnOutcome::Status::kFailed);
  EXPECT_EQ(server_error->outcome.error.rfind("API Error: 500 stub internal failure", 0), 0u)
      << server_error->outcome.error;

  auto cut = ReplayTurn(file, 2);
  EXPECT_EQ(cut->outcome.status, TurnOutcome::Status::kFailed);
  EXPECT_NE(cut->outcome.error.find("Connection dropped"), std::string::npos) << cut->outcome.error;

  auto recovered = ReplayTurn(file, 3);
  EXPECT_EQ(recovered->outcome.status, TurnOutcome::Status::kCompleted);
  EXPECT_EQ(recovered->sink.messages, std::vector<std::string>{"Hello from the stub Anthropic model."});
}

// Literal messages below, in the shapes of the transcripts.

json::object Line(std::string_view text) { return json::parse(text).as_object(); }

TEST(ClaudeTurnMapperTest, TextBlocksAroundAToolCallAreSeparatedSoDeltasAddUpToTheMessage) {
  RecordingSink sink;
  ClaudeTurnMapper mapper(sink, "accept");
  for (const char* line : {
           R"({"type":"stream_event","event":{"type":"message_start","message":{"id":"m1"}}})",
           R"({"type":"stream_event","api_message_id":"m1","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me look."}}})",
           R"({"type":"stream_event","api_message_id":"m1","event":{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"command\""}}})",
           R"({"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"Let me look."},{"type":"tool_use","name":"Bash","input":{}}]}})",
           R"({"type":"stream_event","api_message_id":"m2","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Done"}}})",
           R"({"type":"stream_event","api_message_id":"m2","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"."}}})",
           R"({"type":"assistant","message":{"id":"m2","content":[{"type":"text","text":"Done."}]}})",
           R"({"type":"result","subtype":"success","is_error":false,"result":"Done.","usage":{"input_tokens":5,"output_tokens":2}})"}) {
    mapper.OnMessage(Line(line));
  }
  ASSERT_TRUE(mapper.finished());
  EXPECT_EQ(sink.deltas, (std::vector<std::string>{"Let me look.", "\n\n", "Done", "."}));
  EXPECT_EQ(sink.messages, std::vector<std::string>{"Let me look.\n\nDone."});
  EXPECT_EQ(sink.StreamedText(), sink.messages[0]);
}

TEST(ClaudeTurnMapperTest, SubagentMessagesAreIgnored) {
  RecordingSink sink;
  ClaudeTurnMapper mapper(sink, "accept");
  mapper.OnMessage(Line(R"({"type":"stream_event","parent_tool_use_id":"toolu_1","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"inner"}}})"));
  mapper.OnMessage(Line(R"({"type":"assistant","parent_tool_use_id":"toolu_1","message":{"id":"s1","content":[{"type":"text","text":"inner"}]}})"));
  mapper.OnMessage(Line(R"({"type":"assistant","parent_tool_use_id":null,"message":{"id":"m1","content":[{"type":"text","text":"outer"}]}})"));
  mapper.OnMessage(Line(R"({"type":"result","subtype":"success","is_error":false})"));
  EXPECT_EQ(sink.deltas, std::vector<std::string>{"outer"});
  EXPECT_EQ(sink.messages, std::vector<std::string>{"outer"});
  EXPECT_TRUE(sink.usages.empty());
}

TEST(ClaudeTurnMapperTest, AskPolicyAnswersWithThePersonsDecision) {
  for (const char* decided : {"accept", "decline"}) {
    RecordingSink sink;
    sink.ask_answer = decided;
    ClaudeTurnMapper mapper(sink, "ask");
    auto answer = mapper.OnMessage(Line(
        R"({"type":"control_request","request_id":"q1","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"touch x"}}})"));
    ASSERT_TRUE(answer.has_value());
    ASSERT_EQ(sink.approvals.size(), 1u);
    EXPECT_EQ(sink.approvals[0], (RecordedApproval{"tool", "Bash: touch x", "ask"}));
    json::value parsed = json::parse(*answer);
    EXPECT_EQ(parsed.at("response").at("response").at("behavior"),
              std::string(decided) == "accept" ? "allow" : "deny")
        << *answer;
  }
}

TEST(ClaudeTurnMapperTest, UnknownControlRequestsGetAnErrorAnswer) {
  RecordingSink sink;
  ClaudeTurnMapper mapper(sink, "accept");
  auto answer = mapper.OnMessage(Line(R"({"type":"control_request","request_id":"q7","request":{"subtype":"hook_callback"}})"));
  ASSERT_TRUE(answer.has_value());
  json::value parsed = json::parse(*answer);
  EXPECT_EQ(parsed.at("response").at("subtype"), "error");
  EXPECT_EQ(parsed.at("response").at("request_id"), "q7");
  EXPECT_TRUE(sink.approvals.empty());
}

TEST(ClaudeTurnMapperTest, OtherMessagesAreIgnored) {
  RecordingSink sink;
  ClaudeTurnMapper mapper(sink, "accept");
  for (const char* line : {R"({"type":"system","subtype":"init","session_id":"s"})",
                           R"({"type":"system","subtype":"api_retry","attempt":1})",
                           R"({"type":"control_response","response":{"subtype":"success","request_id":"x"}})",
                           R"({"type":"user","message":{"role":"user","content":[]}})",
                           R"({"type":"something_new"})", R"({})"}) {
    EXPECT_FALSE(mapper.OnMessage(Line(line)).has_value());
  }
  EXPECT_FALSE(mapper.finished());
  EXPECT_TRUE(sink.calls.empty());
}

TEST(ClaudeTurnMapperTest, ErrorResultsWithoutTextUseErrorsOrTheSubtype) {
  EXPECT_EQ(ResultError(Line(R"({"subtype":"error_max_turns","is_error":true,"errors":["too many turns","stop"]})")),
            "too many turns; stop");
  EXPECT_EQ(ResultError(Line(R"({"subtype":"error_during_execution","is_error":true})")),
            "claude ended the turn with \"error_during_execution\"");
  EXPECT_EQ(ResultError(Line(R"({"subtype":"success","is_error":true,"result":"API Error: 529 overloaded","api_error_status":529})")),
            "API Error: 529 overloaded");
}

TEST(ClaudeTurnMapperTest, AnInterruptThatLostTheRaceStillCompletes) {
  RecordingSink sink;
  ClaudeTurnMapper mapper(sink, "accept");
  mapper.SetInterruptRequested();
  mapper.OnMessage(Line(R"({"type":"result","subtype":"success","is_error":false,"result":"ok"})"));
  EXPECT_EQ(mapper.outcome().status, TurnOutcome::Status::kCompleted);
}

}  // namespace
}  // namespace codeswarm::worker::claude
