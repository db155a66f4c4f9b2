// CodexTurnMapper against transcripts recorded from the real codex app-server
// (tests/fixtures/codex): the s2c messages go in, and the sink calls, the outcome and the
// answers to approval requests come out (the answers are compared with the recorded c2s ones).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <deque>
#include <fstream>
#include <memory>

#include "unit/recording_sink.h"
#include "worker/codex/codex_protocol.h"
#include "worker/codex/codex_turn_mapper.h"

namespace codeswarm::worker::codex {
namespace {

namespace json = boost::json;

struct ReplayedTurn {
  RecordingSink sink;
  std::optional<TurnOutcome> outcome;
  std::vector<std::string> answers;           // ours, to the server's requests
  std::vector<std::string> recorded_answers;  // the recording's
};

std::deque<ReplayedTurn> Replay(const std::string& name, const std::string& decision) {
  std::ifstream in(std::string(CODESWARM_SOURCE_DIR) + "/tests/fixtures/codex/" + name);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::deque<ReplayedTurn> turns;
  std::unique_ptr<CodexTurnMapper> mapper;
  TokenUsage thread_usage;
  json::value start_id;
  std::string line;
  while (std::getline(in, line)) {
    json::object record = json::parse(line).as_object();
    std::string dir(record.at("dir").as_string());
    if (dir != "c2s" && dir != "s2c") continue;
    const json::object& msg = record.at("msg").as_object();
    IncomingMessage m = ClassifyMessage(msg);
    if (dir == "c2s") {
      if (m.method == "turn/start") {
        turns.emplace_back();
        mapper = std::make_unique<CodexTurnMapper>(turns.back().sink, decision, &thread_usage);
        start_id = m.id;
      } else if (m.kind == IncomingMessage::Kind::kResponse && mapper) {
        turns.back().recorded_answers.push_back(json::serialize(msg));
      }
      continue;
    }
    if (!mapper) continue;
    static const json::object kNone;
    const json::object& params = m.params != nullptr ? *m.params : kNone;
    if (m.kind == IncomingMessage::Kind::kResponse && m.id == start_id) {
      mapper->SetTurnId(StringAt(ObjectAt(m.result->as_object(), "turn"), "id"));
    } else if (m.kind == IncomingMessage::Kind::kNotification) {
      mapper->OnNotification(m.method, params);
      if (mapper->finished() && !turns.back().outcome) turns.back().outcome = mapper->outcome();
    } else if (m.kind == IncomingMessage::Kind::kServerRequest) {
      ServerRequestAnswer a = mapper->OnServerRequest(m.method, params);
      turns.back().answers.push_back(a.error_message.empty()
                                         ? ResultLine(m.id, a.result)
                                         : ErrorLine(m.id, a.error_code, a.error_message));
    }
  }
  return turns;
}

TokenUsage Usage(int64_t input, int64_t cached, int64_t output, int64_t reasoning, int64_t total) {
  return {input, cached, output, reasoning, total};
}

TEST(CodexTurnMapperTest, NormalTurnStreamsDeltasThenTheMessageThenUsage) {
  std::deque<ReplayedTurn> turns = Replay("transcript.jsonl", "accept");
  ASSERT_EQ(turns.size(), 3u);
  const ReplayedTurn& t = turns[0];
  ASSERT_TRUE(t.outcome);
  EXPECT_EQ(t.outcome->status, TurnOutcome::Status::kCompleted);
  EXPECT_EQ(t.sink.deltas.size(), 11u);
  EXPECT_EQ(t.sink.deltas.front(), "Hello");
  EXPECT_EQ(t.sink.StreamedText(), "Hello from the stub model. This reply was streamed in pieces.");
  EXPECT_EQ(t.sink.messages,
            std::vector<std::string>{"Hello from the stub model. This reply was streamed in pieces."});
  ASSERT_EQ(t.sink.usages.size(), 1u);
  EXPECT_EQ(t.sink.usages[0], Usage(120, 0, 11, 0, 131));
  // Message and usage come once, after every delta.
  std::vector<std::string> tail(t.sink.calls.end() - 2, t.sink.calls.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"message", "usage"}));
}

TEST(CodexTurnMapperTest, UsageOfATurnIsHowMuchTheThreadTotalGrewDuringIt) {
  std::deque<ReplayedTurn> turns = Replay("transcript.jsonl", "accept");
  ASSERT_EQ(turns.size(), 3u);
  // Turn 2 made two model calls (the command, then the answer): last = 220 then 125.
  ASSERT_EQ(turns[1].sink.usages.size(), 1u);
  EXPECT_EQ(turns[1].sink.usages[0], Usage(320, 0, 25, 0, 345));
  ASSERT_EQ(turns[2].sink.usages.size(), 1u);
  EXPECT_EQ(turns[2].sink.usages[0], Usage(320, 0, 35, 0, 355));
}

TEST(CodexTurnMapperTest, UntrustedCommandIsAnsweredPerPolicyAndReported) {
  std::deque<ReplayedTurn> turns = Replay("transcript_cmd_untrusted.jsonl", "accept");
  ASSERT_EQ(turns.size(), 1u);
  const ReplayedTurn& t = turns[0];
  EXPECT_EQ(t.sink.approvals,
            (std::vector<RecordedApproval>{
                {"command", "/bin/bash -lc 'touch /srv/probe/work/made_by_cmd.txt && echo created'",
                 "accept"}}));
  EXPECT_EQ(t.answers, t.recorded_answers);
  EXPECT_EQ(t.answers, std::vector<std::string>{R"({"id":0,"result":{"decision":"accept"}})"});
  ASSERT_TRUE(t.outcome);
  EXPECT_EQ(t.outcome->status, TurnOutcome::Status::kCompleted);
  EXPECT_EQ(t.sink.messages, std::vector<std::string>{"Done. The tool call finished."});
  // The approval is reported before the answer's text.
  EXPECT_EQ(t.sink.calls.front(), "approval");
}

TEST(CodexTurnMapperTest, AskPolicyAnswersWithThePersonsDecision) {
  for (const char* decided : {"accept", "decline"}) {
    RecordingSink sink;
    sink.ask_answer = decided;
    TokenUsage usage;
    CodexTurnMapper mapper(sink, "ask", &usage);
    ServerRequestAnswer answer = mapper.OnServerRequest(
        "item/commandExecution/requestApproval", json::parse(R"({"command":"ls"})").as_object());
    EXPECT_EQ(sink.approvals, (std::vector<RecordedApproval>{{"command", "ls", "ask"}}));
    EXPECT_EQ(json::serialize(answer.result), std::string(R"({"decision":")") + decided + "\"}");
  }
}

TEST(CodexTurnMapperTest, DeclinedCommandIsReportedAndTheTurnStillCompletes) {
  std::deque<ReplayedTurn> turns = Replay("transcript_cmd_decline.jsonl", "decline");
  ASSERT_EQ(turns.size(), 1u);
  const ReplayedTurn& t = turns[0];
  EXPECT_EQ(t.sink.approvals,
            (std::vector<RecordedApproval>{
                {"command", "/bin/bash -lc 'touch /srv/probe/work/should_not_exist.txt'",
                 "decline"}}));
  EXPECT_EQ(t.answers, t.recorded_answers);
  ASSERT_TRUE(t.outcome);
  EXPECT_EQ(t.outcome->status, TurnOutcome::Status::kCompleted);
}

TEST(CodexTurnMapperTest, FileChangeApprovalNamesTheFilesFromTheItemItBelongsTo) {
  std::deque<ReplayedTurn> turns = Replay("transcript_patch_untrusted.jsonl", "accept");
  ASSERT_EQ(turns.size(), 1u);
  const ReplayedTurn& t = turns[0];
  EXPECT_EQ(t.sink.approvals, (std::vector<RecordedApproval>{
                                  {"file_change", "/srv/probe/work/hello.txt", "accept"}}));
  EXPECT_EQ(t.answers, t.recorded_answers);
  ASSERT_TRUE(t.outcome);
  EXPECT_EQ(t.outcome->status, TurnOutcome::Status::kCompleted);
}

TEST(CodexTurnMapperTest, Http401FromTheModelFailsTheTurnWithCodexsMessage) {
  std::deque<ReplayedTurn> turns = Replay("transcript_err_FAIL_HTTP_401.jsonl", "decline");
  ASSERT_EQ(turns.size(), 1u);
  const ReplayedTurn& t = turns[0];
  ASSERT_TRUE(t.outcome);
  EXPECT_EQ(t.outcome->status, TurnOutcome::Status::kFailed);
  EXPECT_EQ(t.outcome->error,
            "unexpected status 401 Unauthorized: stub forced HTTP 401, url: "
            "http://127.0.0.1:18080/v1/responses");
  EXPECT_TRUE(t.sink.calls.empty());
}

TEST(CodexTurnMapperTest, StreamErrorFailsTheTurnWithCodexsMessage) {
  std::deque<ReplayedTurn> turns = Replay("transcript_err_FAIL_STREAM.jsonl", "decline");
  ASSERT_EQ(turns.size(), 1u);
  ASSERT_TRUE(turns[0].outcome);
  EXPECT_EQ(turns[0].outcome->status, TurnOutcome::Status::kFailed);
  EXPECT_EQ(turns[0].outcome->error, "stream disconnected before completion: stub forced response.failed");
}

TEST(CodexTurnMapperTest, InterruptedTurnEndsInterruptedWithWhatItStreamedAndNoMessage) {
  std::deque<ReplayedTurn> turns = Replay("transcript_interrupt.jsonl", "decline");
  ASSERT_EQ(turns.size(), 1u);
  const ReplayedTurn& t = turns[0];
  ASSERT_TRUE(t.outcome);
  EXPECT_EQ(t.outcome->status, TurnOutcome::Status::kInterrupted);
  EXPECT_EQ(t.sink.deltas.size(), 4u);
  EXPECT_TRUE(t.sink.messages.empty());
  EXPECT_TRUE(t.sink.usages.empty());
}

// Literal messages in the recorded shapes, for what the recordings do not show.
class CodexTurnMapperLiteralTest : public ::testing::Test {
 protected:
  void Notify(std::string_view method, std::string_view params) {
    mapper_.OnNotification(method, json::parse(params).as_object());
  }
  void Complete(std::string_view status) {
    Notify("turn/completed", R"({"threadId":"th","turn":{"id":"t1","status":")" + std::string(status) +
                                 R"(","error":null}})");
  }

  RecordingSink sink_;
  TokenUsage thread_usage_;
  CodexTurnMapper mapper_{sink_, "accept", &thread_usage_};
};

TEST_F(CodexTurnMapperLiteralTest, SeveralAgentMessagesAreSeparatedSoDeltasAddUpToTheText) {
  mapper_.SetTurnId("t1");
  Notify("item/agentMessage/delta", R"({"turnId":"t1","itemId":"m1","delta":"Let me look."})");
  Notify("item/completed", R"({"turnId":"t1","item":{"type":"agentMessage","id":"m1","text":"Let me look."}})");
  // A message that arrives whole, without deltas, is streamed too.
  Notify("item/completed", R"({"turnId":"t1","item":{"type":"agentMessage","id":"m2","text":"Done."}})");
  Complete("completed");
  EXPECT_EQ(sink_.deltas, (std::vector<std::string>{"Let me look.", "\n\n", "Done."}));
  EXPECT_EQ(sink_.messages, std::vector<std::string>{"Let me look.\n\nDone."});
  EXPECT_TRUE(sink_.usages.empty());  // codex reported none
  EXPECT_EQ(mapper_.outcome().status, TurnOutcome::Status::kCompleted);
}

TEST_F(CodexTurnMapperLiteralTest, NotificationsOfAnotherTurnAndUnknownOnesAreIgnored) {
  mapper_.SetTurnId("t1");
  Notify("item/agentMessage/delta", R"({"turnId":"t0","itemId":"m0","delta":"old"})");
  Notify("turn/completed", R"({"turn":{"id":"t0","status":"interrupted"}})");
  Notify("some/future/notification", R"({"x":1})");
  EXPECT_FALSE(mapper_.finished());
  EXPECT_TRUE(sink_.calls.empty());
  Complete("completed");
  EXPECT_TRUE(mapper_.finished());
}

TEST_F(CodexTurnMapperLiteralTest, FailedTurnWithoutAnErrorObjectUsesTheLastErrorNotification) {
  mapper_.SetTurnId("t1");
  Notify("error", R"({"turnId":"t1","willRetry":true,"error":{"message":"retrying 1/5"}})");
  Notify("error", R"({"turnId":"t1","willRetry":false,"error":{"message":"model overloaded"}})");
  Complete("failed");
  EXPECT_EQ(mapper_.outcome().error, "model overloaded");
}

TEST_F(CodexTurnMapperLiteralTest, ErrorClassificationIsAddedWhenTheMessageDoesNotSayIt) {
  mapper_.SetTurnId("t1");
  // What codex 0.169 says when the model API answers 500: its own words, not the body's.
  Notify("turn/completed", R"({"turn":{"id":"t1","status":"failed","error":{
      "message":"We’re currently experiencing high demand, which may cause temporary errors.",
      "codexErrorInfo":"internalServerError"}}})");
  EXPECT_EQ(mapper_.outcome().error,
            "We\xE2\x80\x99re currently experiencing high demand, which may cause temporary errors. "
            "(internalServerError)");
}

TEST_F(CodexTurnMapperLiteralTest, HttpStatusIsAddedWhenTheMessageDoesNotNameIt) {
  mapper_.SetTurnId("t1");
  Notify("turn/completed", R"({"turn":{"id":"t1","status":"failed","error":{
      "message":"bad gateway","codexErrorInfo":{"httpConnectionFailed":{"httpStatusCode":502}}}}})");
  EXPECT_EQ(mapper_.outcome().error, "bad gateway (HTTP 502)");
}

TEST_F(CodexTurnMapperLiteralTest, UnknownServerRequestIsRefusedAndReported) {
  ServerRequestAnswer a = mapper_.OnServerRequest("item/tool/requestUserInput", json::object{});
  EXPECT_EQ(a.error_code, -32601);
  EXPECT_EQ(a.error_message, "codeswarm does not handle item/tool/requestUserInput");
  EXPECT_EQ(sink_.approvals, (std::vector<RecordedApproval>{
                                 {"tool", "item/tool/requestUserInput", "decline"}}));
}

TEST(CodexUsageTest, GrowthNeverGoesBelowZero) {
  EXPECT_EQ(UsageGrowth({10, 5, 3, 1, 13}, {4, 6, 3, 2, 20}), (TokenUsage{0, 1, 0, 1, 7}));
}

}  // namespace
}  // namespace codeswarm::worker::codex
