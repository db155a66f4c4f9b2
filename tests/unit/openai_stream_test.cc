// The openai agent's pure parts: the SSE parser, the Chat Completions stream and error bodies,
// the request body, and the retry decisions.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "unit/recording_sink.h"
#include "worker/openai/chat_protocol.h"
#include "worker/openai/openai_agent.h"
#include "worker/openai/retry_policy.h"
#include "worker/openai/sse_parser.h"

namespace codeswarm::worker::openai {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const std::string kStream =
    ": keep-alive comment\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n"
    "event: message\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u00e9\"}}]}\r\r"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,"
    "\"total_tokens\":15,\"prompt_tokens_details\":{\"cached_tokens\":4},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":1}}}\n\n"
    "data: [DONE]\n\n";

std::vector<SseEvent> ParseInPieces(const std::string& stream, std::size_t split_a,
                                    std::size_t split_b) {
  SseParser parser;
  std::vector<SseEvent> events;
  auto collect = [&](const SseEvent& e) { events.push_back(e); };
  std::string_view s = stream;
  EXPECT_TRUE(parser.Feed(s.substr(0, split_a), collect).ok());
  EXPECT_TRUE(parser.Feed(s.substr(split_a, split_b - split_a), collect).ok());
  EXPECT_TRUE(parser.Feed(s.substr(split_b), collect).ok());
  return events;
}

TEST(SseParserTest, SameEventsWhereverTheStreamIsSplit) {
  std::vector<SseEvent> whole = ParseInPieces(kStream, 0, 0);
  ASSERT_EQ(whole.size(), 6u);
  EXPECT_EQ(whole[2].event, "message");
  EXPECT_EQ(whole[5].data, "[DONE]");
  for (std::size_t a = 0; a <= kStream.size(); a += 7) {
    for (std::size_t b = a; b <= kStream.size(); b += 5) {
      std::vector<SseEvent> events = ParseInPieces(kStream, a, b);
      ASSERT_EQ(events.size(), whole.size()) << "split at " << a << ", " << b;
      for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].data, whole[i].data) << "split at " << a << ", " << b;
      }
    }
  }
}

TEST(SseParserTest, ByteByByteAndMultiLineData) {
  SseParser parser;
  std::vector<SseEvent> events;
  std::string stream = "data:first\ndata: second\n\nid: 3\nretry: 10\n\ndata: x\r\n\r\n";
  for (char c : stream) {
    ASSERT_TRUE(parser.Feed(std::string_view(&c, 1), [&](const SseEvent& e) { events.push_back(e); }).ok());
  }
  ASSERT_EQ(events.size(), 2u);  // the event without data is not dispatched
  EXPECT_EQ(events[0].data, "first\nsecond");
  EXPECT_EQ(events[1].data, "x");
}

TEST(SseParserTest, OverlongEventIsAnError) {
  SseParser parser(16);
  EXPECT_FALSE(parser.Feed("data: 0123456789abcdefghij", [](const SseEvent&) {}).ok());
}

TEST(ChatStreamReaderTest, StreamsContentAndKeepsTextUsageAndEnd) {
  RecordingSink sink;
  ChatStreamReader reader(sink);
  SseParser parser;
  ASSERT_TRUE(parser.Feed(kStream, [&](const SseEvent& e) { ASSERT_TRUE(reader.OnData(e.data).ok()); }).ok());
  EXPECT_EQ(sink.deltas, (std::vector<std::string>{"Hel", "lo \xC3\xA9"}));
  EXPECT_EQ(reader.text(), "Hello \xC3\xA9");
  EXPECT_TRUE(reader.complete());
  EXPECT_EQ(reader.finish_reason(), "stop");
  ASSERT_TRUE(reader.usage());
  EXPECT_EQ(*reader.usage(), (TokenUsage{12, 4, 3, 1, 15}));
}

TEST(ChatStreamReaderTest, CompleteOnlyWithDoneOrAFinishReason) {
  RecordingSink sink;
  ChatStreamReader reader(sink);
  ASSERT_TRUE(reader.OnData(R"({"choices":[{"delta":{"content":"partial"}}]})").ok());
  EXPECT_FALSE(reader.complete());
  EXPECT_TRUE(reader.streamed());
  EXPECT_FALSE(reader.usage());
  ASSERT_TRUE(reader.OnData("[DONE]").ok());
  EXPECT_TRUE(reader.complete());
}

TEST(ChatStreamReaderTest, ReasoningIsNotPartOfTheAnswer) {
  RecordingSink sink;
  ChatStreamReader reader(sink);
  ASSERT_TRUE(reader.OnData(R"({"choices":[{"delta":{"reasoning_content":"hmm","content":null}}]})").ok());
  EXPECT_TRUE(sink.deltas.empty());
  EXPECT_FALSE(reader.streamed());
}

TEST(ChatStreamReaderTest, ErrorChunkAndGarbageAreErrors) {
  RecordingSink sink;
  ChatStreamReader reader(sink);
  Status s = reader.OnData(R"({"error":{"message":"CUDA out of memory","type":"server_error"}})");
  EXPECT_EQ(s.message(), "the server reported an error mid-stream: CUDA out of memory");
  EXPECT_EQ(reader.OnData("not json").message(),
            "the server sent a stream event that is not a JSON object: not json");
}

TEST(ChatProtocolTest, ErrorMessagesFromTheBodiesServersSend) {
  EXPECT_EQ(ErrorMessageFromBody(R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}})"),
            "Incorrect API key provided");
  EXPECT_EQ(ErrorMessageFromBody(R"({"error":"model not found"})"), "model not found");
  EXPECT_EQ(ErrorMessageFromBody(R"({"detail":"Not Found"})"), "Not Found");
  EXPECT_EQ(ErrorMessageFromBody(R"({"detail":[{"loc":["body","model"],"msg":"field required"}]})"),
            "field required");
  EXPECT_EQ(ErrorMessageFromBody(R"({"object":"error","message":"The model `x` does not exist."})"),
            "The model `x` does not exist.");
  EXPECT_EQ(ErrorMessageFromBody("  <html>Bad Gateway</html>\n"), "<html>Bad Gateway</html>");
  EXPECT_EQ(ErrorMessageFromBody(""), "(empty body)");
}

TEST(ChatProtocolTest, RequestAsksForAStreamWithUsage) {
  OpenAiAgentSettings settings;
  settings.model = "llama-3-70b";
  json::value body = json::parse(ChatRequestBody(settings, {{"system", "Be brief."}, {"user", "hi"}}));
  EXPECT_EQ(body, json::parse(R"({"model":"llama-3-70b","messages":[{"role":"system","content":"Be brief."},
      {"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}})"));
  settings.temperature = 0.2;
  settings.max_tokens = 512;
  body = json::parse(ChatRequestBody(settings, {}));
  EXPECT_EQ(body.at("temperature"), json::value(0.2));
  EXPECT_EQ(body.at("max_tokens"), json::value(512));
}

TEST(OpenAiAgentTest, EndpointUrlHasOneSlash) {
  EXPECT_EQ(OpenAiAgent::EndpointUrl("http://gpu:8000/v1"), "http://gpu:8000/v1/chat/completions");
  EXPECT_EQ(OpenAiAgent::EndpointUrl("http://gpu:8000/v1//"), "http://gpu:8000/v1/chat/completions");
}

AttemptFailure HttpFailure(int http_status) {
  AttemptFailure f;
  f.http_status = http_status;
  return f;
}

AttemptFailure TransportError() {
  AttemptFailure f;
  f.transport_error = true;
  return f;
}

TEST(OpenAiRetryTest, RetriesConnectionErrors429And5xxButNot4xx) {
  RetryPolicy policy;
  auto retried = [&](AttemptFailure f) { return RetryDelay(f, 0, policy, 0.0).has_value(); };
  EXPECT_TRUE(retried(TransportError()));
  for (int status : {408, 429, 500, 502, 503, 504}) EXPECT_TRUE(retried(HttpFailure(status))) << status;
  for (int status : {400, 401, 403, 404, 422}) EXPECT_FALSE(retried(HttpFailure(status))) << status;
  AttemptFailure after_text = HttpFailure(500);
  after_text.answer_streamed = true;  // a retry would stream the text twice
  EXPECT_FALSE(retried(after_text));
}

TEST(OpenAiRetryTest, BackoffDoublesWithJitterUpToTheCapAndStopsAfterMaxRetries) {
  RetryPolicy policy;
  policy.max_retries = 8;
  policy.base_delay = 500ms;
  policy.max_delay = 4000ms;
  AttemptFailure f = HttpFailure(502);
  EXPECT_EQ(RetryDelay(f, 0, policy, 0.0), 250ms);  // half fixed ...
  EXPECT_EQ(RetryDelay(f, 0, policy, 1.0), 500ms);  // ... half random
  EXPECT_EQ(RetryDelay(f, 1, policy, 1.0), 1000ms);
  EXPECT_EQ(RetryDelay(f, 2, policy, 1.0), 2000ms);
  EXPECT_EQ(RetryDelay(f, 5, policy, 1.0), 4000ms);
  EXPECT_EQ(RetryDelay(f, 5, policy, 0.5), 3000ms);
  EXPECT_FALSE(RetryDelay(f, 8, policy, 0.5));
}

TEST(OpenAiRetryTest, RetryAfterWinsAndIsCapped) {
  RetryPolicy policy;
  AttemptFailure f = HttpFailure(429);
  f.retry_after = 7000ms;
  EXPECT_EQ(RetryDelay(f, 0, policy, 0.3), 7000ms);
  f.retry_after = 3600000ms;
  EXPECT_EQ(RetryDelay(f, 0, policy, 0.3), 60000ms);
  EXPECT_EQ(ParseRetryAfter(" 12 ", 0), 12000ms);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470), 10000ms);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490), 0ms);  // past
  EXPECT_FALSE(ParseRetryAfter("soon", 0));
  EXPECT_FALSE(ParseRetryAfter("-3", 0));
}

}  // namespace
}  // namespace codeswarm::worker::openai
