// The openai agent end to end: the real router and worker processes against the stub model
// server's Chat Completions endpoint on 127.0.0.1.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "e2e/agent_e2e.h"
#include "e2e/stub_server.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr const char* kKeyVariable = "CODESWARM_TEST_OPENAI_KEY";
constexpr const char* kKey = "sk-e2e-0f9e8d7c6b5a-never-logged";

class OpenAiE2E : public AgentE2E {
 protected:
  static void SetUpTestSuite() {
    StartSuite(
        {"openai", "/v1/chat/completions", ""},
        [](const TempDir&, const StubModelServer& stub) {
          return json::object{{"agent",
                               {{"kind", "openai"},
                                {"openai",
                                 {{"base_url", stub.url() + "/v1"},
                                  {"model", "stub-model"},
                                  {"api_key_env", kKeyVariable},
                                  {"max_retries", 2}}}}}};
        },
        [](const TempDir&, const StubModelServer&) { return Env{{kKeyVariable, kKey}}; });
  }
  static void TearDownTestSuite() { StopSuite(); }

  void SetUp() override {
    AgentE2E::SetUp();
    if (HasFatalFailure()) return;
    stub_->Control({{"require_api_key", kKey}});
  }
};

// [[role, content], ...] of a recorded Chat Completions request.
std::vector<std::pair<std::string, std::string>> Messages(const json::object& request) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const json::value& m : request.at("body").at("messages").as_array()) {
    out.emplace_back(Str(m.at("role")), Str(m.at("content")));
  }
  return out;
}

using Conversation = std::vector<std::pair<std::string, std::string>>;

TEST_F(OpenAiE2E, TwoNodesStreamDeltasFinalTextAndUsage) {
  Launch({}, "You are swarm node tester SYS-4b1d.");
  stub_->AddRule({{"match", "[stream]"},
                  {"deltas", json::array{"Hello", " from", " the", " stub", " model."}},
                  {"usage", {{"input_tokens", 42}, {"cached_tokens", 7}, {"output_tokens", 5},
                             {"reasoning_tokens", 1}}}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "Say hello [stream]");
  ASSERT_EQ(turns.size(), 2u);
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "completed") << "node " << node << ": " << t.error;
    EXPECT_EQ(t.deltas, 5);
    EXPECT_EQ(t.streamed, "Hello from the stub model.");
    EXPECT_EQ(t.content, "Hello from the stub model.");
    ASSERT_TRUE(t.usage);
    EXPECT_EQ(IntField(*t.usage, "input_tokens"), 42);
    EXPECT_EQ(IntField(*t.usage, "cached_input_tokens"), 7);
    EXPECT_EQ(IntField(*t.usage, "output_tokens"), 5);
    EXPECT_EQ(IntField(*t.usage, "reasoning_output_tokens"), 1);
    EXPECT_EQ(IntField(*t.usage, "total_tokens"), 47);
    std::vector<std::string> expected = {"inject_ack", "inject_delivered", "turn_started"};
    expected.insert(expected.end(), 5, "assistant_delta");
    expected.insert(expected.end(), {"assistant", "usage", "turn_complete"});
    EXPECT_EQ(t.events, expected);
  }
  std::vector<json::object> requests = RequestsFor("[stream]");
  ASSERT_EQ(requests.size(), 2u);
  for (const json::object& r : requests) {
    // The system prompt reaches the model, first; the stream asks for usage.
    EXPECT_EQ(Messages(r), (Conversation{{"system", "You are swarm node tester SYS-4b1d."},
                                         {"user", "Say hello [stream]"}}));
    EXPECT_EQ(r.at("body").at("stream"), json::value(true));
    EXPECT_EQ(r.at("body").at("stream_options").at("include_usage"), json::value(true));
    EXPECT_EQ(r.at("body").at("model"), json::value("stub-model"));
  }
}

TEST_F(OpenAiE2E, SecondTurnSendsEachNodesConversation) {
  Launch({}, "Be brief.");
  json::object request = SecondTurnRequest();
  ASSERT_FALSE(request.empty());
  EXPECT_EQ(Messages(request), (Conversation{{"system", "Be brief."},
                                                 {"user", "alpha one"},
                                                 {"assistant", "Reply to alpha."},
                                                 {"user", "alpha two"}}));
}

TEST_F(OpenAiE2E, ApiKeyComesFromTheNamedVariableAndIsNeverWrittenDown) {
  Launch();
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [key]");
  for (auto& [node, t] : turns) EXPECT_EQ(t.status, "completed") << t.error;
  for (const json::object& r : RequestsFor("[key]")) EXPECT_EQ(r.at("api_key_ok"), json::value(true));
  // Not in any log, the state database or the events.
  for (const auto& entry : fs::recursive_directory_iterator(dir_->path())) {
    if (!entry.is_regular_file()) continue;
    EXPECT_EQ(ReadFile(entry.path()).find(kKey), std::string::npos) << "the key is in " << entry.path();
  }
  for (const json::object& e : client_->events()) {
    EXPECT_EQ(json::serialize(e).find(kKey), std::string::npos);
  }
}

TEST_F(OpenAiE2E, InterruptEndsASlowTurnAndLeavesNoTraceInTheConversation) {
  Launch({}, "");
  InterruptASlowTurn(std::chrono::seconds(2));
  std::map<int, NodeTurn> next = InjectAndWait(*client_, swarm_, "Quick one [after]", 0);
  EXPECT_EQ(next[0].status, "completed") << next[0].error;
  std::vector<json::object> requests = RequestsFor("[after]");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(Messages(requests[0]), (Conversation{{"user", "Quick one [after]"}}));
}

TEST_F(OpenAiE2E, Http401FailsAtOnceWithTheServerMessage) {
  Launch();
  stub_->AddRule({{"match", "[401]"}, {"status", 401}, {"error_message", "Incorrect API key provided"}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [401]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "failed") << "node " << node;
    EXPECT_EQ(t.error, "HTTP 401 from " + stub_->url() + "/v1/chat/completions: Incorrect API key provided");
  }
  EXPECT_EQ(RequestsFor("[401]").size(), 2u);  // no retry
}

TEST_F(OpenAiE2E, MissingApiKeyIsNamedInTheError) {
  Launch({{"api_key_env", "CODESWARM_TEST_UNSET_KEY_VARIABLE"}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [nokey]", 0);
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error, "HTTP 401 from " + stub_->url() +
                                "/v1/chat/completions: stub: invalid API key (no API key was sent: "
                                "set the environment variable named by agent.openai.api_key_env, "
                                "CODESWARM_TEST_UNSET_KEY_VARIABLE)");
}

TEST_F(OpenAiE2E, Http500IsRetriedThenFailsWithTheServerMessage) {
  Launch();
  stub_->AddRule({{"match", "[500]"}, {"status", 500}, {"error_message", "model server exploded"}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [500]", 0);
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error, "HTTP 500 from " + stub_->url() +
                                "/v1/chat/completions: model server exploded (after 3 attempts)");
  EXPECT_EQ(RequestsFor("[500]").size(), 3u);  // max_retries 2
}

TEST_F(OpenAiE2E, Http429ThenSuccessCompletesAfterRetryAfter) {
  Launch();
  stub_->AddRule({{"match", "[429]"}, {"times", 1}, {"status", 429}, {"retry_after", "1"},
                  {"error_message", "slow down"}});
  auto start = std::chrono::steady_clock::now();
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [429]", 0);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000));
  EXPECT_EQ(turns[0].status, "completed") << turns[0].error;
  EXPECT_EQ(turns[0].content, "Hello from the stub model.");
  EXPECT_EQ(RequestsFor("[429]").size(), 2u);
}

TEST_F(OpenAiE2E, CutStreamFailsWithoutRetryingWhatWasShown) {
  Launch();
  stub_->AddRule({{"match", "[cut]"}, {"cut_after", 3}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [cut]");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "failed") << "node " << node;
    EXPECT_EQ(t.error.rfind("the stream from " + stub_->url() +
                                "/v1/chat/completions broke off before the answer was complete: ",
                            0),
              0u)
        << t.error;
    EXPECT_EQ(t.streamed, "Hello from");
    EXPECT_FALSE(t.content);
  }
  EXPECT_EQ(RequestsFor("[cut]").size(), 2u);
}

TEST_F(OpenAiE2E, StreamErrorFailsWithTheServerMessage) {
  Launch();
  stub_->AddRule({{"match", "[fail]"}, {"stream_error", "CUDA out of memory"}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [fail]", 1);
  EXPECT_EQ(turns[1].status, "failed");
  EXPECT_EQ(turns[1].error, "the server reported an error mid-stream: CUDA out of memory");
}

TEST_F(OpenAiE2E, SilentServerIsAbandonedAfterTheIdleTimeout) {
  Launch({{"idle_timeout_seconds", 1}, {"max_retries", 0}});
  stub_->AddRule({{"match", "[silent]"}, {"initial_delay_ms", 10000}});
  auto start = std::chrono::steady_clock::now();
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [silent]", 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error, "the stream from " + stub_->url() +
                                "/v1/chat/completions broke off before the answer was complete: "
                                "no data from the server for 1 s");
}

TEST_F(OpenAiE2E, UnreachableServerFailsAfterRetriesNamingTheCause) {
  std::string url = "http://127.0.0.1:" + std::to_string(FreePort()) + "/v1";
  Launch({{"base_url", url}, {"max_retries", 1}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello");
  for (auto& [node, t] : turns) {
    EXPECT_EQ(t.status, "failed") << "node " << node;
    EXPECT_EQ(t.error.rfind("cannot reach " + url + "/chat/completions: ", 0), 0u) << t.error;
    EXPECT_NE(t.error.find("Connection refused"), std::string::npos) << t.error;
    EXPECT_EQ(t.error.substr(t.error.size() - 18), "(after 2 attempts)") << t.error;
  }
}

}  // namespace
}  // namespace codeswarm::e2e
