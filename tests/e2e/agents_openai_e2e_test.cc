// The openai agent end to end: the real router and worker processes against the stub model
// server's Chat Completions endpoint on 127.0.0.1. The scenarios shared with the other agents
// are in agents_e2e_test.cc; here is what they expect of the openai agent, and what only it
// does (its API key, its retries, its idle timeout).
#include <gtest/gtest.h>

#include <filesystem>

#include "e2e/agent_e2e.h"
#include "e2e/stub_server.h"

namespace codeswarm::e2e {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr const char* kKeyVariable = "CODESWARM_TEST_OPENAI_KEY";
constexpr const char* kKey = "sk-e2e-0f9e8d7c6b5a-never-logged";

using Conversation = std::vector<std::pair<std::string, std::string>>;

// [[role, content], ...] of a recorded Chat Completions request.
Conversation Messages(const json::object& request) {
  Conversation out;
  for (const json::value& m : request.at("body").at("messages").as_array()) {
    out.emplace_back(Str(m.at("role")), Str(m.at("content")));
  }
  return out;
}

class OpenAi : public AgentUnderTest {
 public:
  OpenAi() : AgentUnderTest("openai", "/v1/chat/completions") {}

  json::object Config(const TempDir&, const StubModelServer& stub) const override {
    return json::object{{"agent",
                         {{"kind", "openai"},
                          {"openai",
                           {{"base_url", stub.url() + "/v1"},
                            {"model", "stub-model"},
                            {"api_key_env", kKeyVariable},
                            {"max_retries", 2}}}}}};
  }
  Env Environment(const TempDir&, const StubModelServer&) const override {
    return {{kKeyVariable, kKey}};
  }
  void Prepare(StubModelServer& stub) const override { stub.Control({{"require_api_key", kKey}}); }

  std::vector<std::string> TextsOf(const json::object& request,
                                   const std::string& role) const override {
    std::vector<std::string> texts;
    for (const auto& [r, text] : Messages(request)) {
      if (r == role) texts.push_back(text);
    }
    return texts;
  }

  Usage StreamUsage() const override {
    return {{{"input_tokens", 42}, {"cached_tokens", 7}, {"output_tokens", 5}, {"reasoning_tokens", 1}},
            42, 7, 5, 1, 47};
  }
  void ExpectStreamRequest(const json::object& r) const override {
    // The stream asks for usage.
    EXPECT_EQ(r.at("body").at("stream"), json::value(true));
    EXPECT_EQ(r.at("body").at("stream_options").at("include_usage"), json::value(true));
    EXPECT_EQ(r.at("body").at("model"), json::value("stub-model"));
  }
  void ExpectSystemPrompt(const json::object& request, const std::string& prompt) const override {
    // First, before the prompt.
    EXPECT_EQ(Messages(request), (Conversation{{"system", prompt}, {"user", "Who are you? [sys]"}}));
  }
  void ExpectSecondTurn(const json::object& request) const override {
    EXPECT_EQ(Messages(request), (Conversation{{"system", "You are a test node."},
                                               {"user", "alpha one"},
                                               {"assistant", "Reply to alpha."},
                                               {"user", "alpha two"}}));
  }
  // An interrupted turn leaves no trace in the conversation.
  std::chrono::milliseconds interrupt_within() const override { return std::chrono::seconds(2); }
  void ExpectAfterInterrupt(const json::object& request) const override {
    EXPECT_EQ(Messages(request), (Conversation{{"system", "You are a test node."},
                                               {"user", "Quick one [after]"}}));
  }
  int attempts_per_turn() const override { return 3; }  // max_retries 2
  void ExpectHttp401(const NodeTurn& t, const std::string& endpoint) const override {
    EXPECT_EQ(t.error, "HTTP 401 from " + endpoint + ": invalid x-api-key (stub)");
  }
  void ExpectHttp500(const NodeTurn& t, const std::string& endpoint) const override {
    EXPECT_EQ(t.error, "HTTP 500 from " + endpoint + ": model server exploded (after 3 attempts)");
  }
  void ExpectCutStream(const NodeTurn& t, const std::string& endpoint,
                       std::size_t requests) const override {
    EXPECT_EQ(t.error.rfind("the stream from " + endpoint +
                                " broke off before the answer was complete: ",
                            0),
              0u)
        << t.error;
    EXPECT_EQ(t.streamed, "Hello from");
    EXPECT_FALSE(t.content);
    EXPECT_EQ(requests, 2u);  // what was shown is not retried
  }
  void ExpectStreamError(const NodeTurn& t, const std::string& message) const override {
    EXPECT_EQ(t.error, "the server reported an error mid-stream: " + message);
  }
};

using OpenAiE2E = OneAgentE2E<OpenAi>;
INSTANTIATE_TEST_SUITE_P(OpenAi, AgentE2E, ::testing::Values(&OpenAiE2E::kAgent), AgentName);

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

TEST_F(OpenAiE2E, MissingApiKeyIsNamedInTheError) {
  Launch({{"api_key_env", "CODESWARM_TEST_UNSET_KEY_VARIABLE"}});
  std::map<int, NodeTurn> turns = InjectAndWait(*client_, swarm_, "hello [nokey]", 0);
  EXPECT_EQ(turns[0].status, "failed");
  EXPECT_EQ(turns[0].error, "HTTP 401 from " + stub_->url() +
                                "/v1/chat/completions: stub: invalid API key (no API key was sent: "
                                "set the environment variable named by agent.openai.api_key_env, "
                                "CODESWARM_TEST_UNSET_KEY_VARIABLE)");
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
