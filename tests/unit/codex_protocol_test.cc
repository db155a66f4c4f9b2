// What Codeswarm sends to codex app-server and how it starts it; the process layer against real
// child processes.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "worker/codex/codex_protocol.h"

namespace codeswarm::worker::codex {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

TEST(CodexProtocolTest, SettingsBecomeAnArgvWithHostileStringsKeptAsPlainArguments) {
  CodexAgentSettings settings;
  settings.binary = "/opt/my codex/bin/codex; rm -rf /";
  settings.config = {"model_reasoning_effort=\"high\"", "x=$(reboot) && echo `id` > /tmp/p"};
  settings.codex_home = "/home/u/.codex home";
  AgentContext context;
  context.work_dir = "/ws/s-1/node-0";
  SpawnOptions options = AppServerSpawnOptions(settings, context, "/ws/s-1/node-0/codex.stderr.log");
  EXPECT_EQ(options.argv, (std::vector<std::string>{"/opt/my codex/bin/codex; rm -rf /", "app-server",
                                                    "-c", "model_reasoning_effort=\"high\"", "-c",
                                                    "x=$(reboot) && echo `id` > /tmp/p"}));
  EXPECT_EQ(options.env_overrides,
            (std::vector<std::pair<std::string, std::string>>{{"CODEX_HOME", "/home/u/.codex home"}}));
  EXPECT_EQ(options.cwd, "/ws/s-1/node-0");
  EXPECT_TRUE(options.new_process_group);
  EXPECT_EQ(options.stdin_mode, StdioMode::kPipe);
  EXPECT_EQ(options.stdout_mode, StdioMode::kPipe);
  EXPECT_EQ(options.stderr_mode, StdioMode::kFile);
  EXPECT_EQ(options.stderr_file, "/ws/s-1/node-0/codex.stderr.log");
}

TEST(CodexProtocolTest, WithoutCodexHomeTheEnvironmentIsInherited) {
  CodexAgentSettings settings;
  SpawnOptions options = AppServerSpawnOptions(settings, AgentContext{}, "/tmp/e");
  EXPECT_EQ(options.argv, (std::vector<std::string>{"codex", "app-server"}));
  EXPECT_TRUE(options.env_overrides.empty());
}

TEST(CodexProtocolTest, ThreadStartCarriesTheNodeDirectoryPolicyAndSystemPrompt) {
  CodexAgentSettings settings;
  settings.approval_policy = "untrusted";
  settings.sandbox = "read-only";
  AgentContext context;
  context.work_dir = "/ws/node-1";
  context.system_prompt = "You review code.";
  EXPECT_EQ(ThreadStartParams(settings, context),
            json::parse(R"({"cwd":"/ws/node-1","sandbox":"read-only","approvalPolicy":"untrusted",
                            "developerInstructions":"You review code."})"));
  settings.replace_base_instructions = true;
  settings.model = "gpt-5";
  settings.model_provider = "vllm";
  EXPECT_EQ(ThreadStartParams(settings, context),
            json::parse(R"({"cwd":"/ws/node-1","sandbox":"read-only","approvalPolicy":"untrusted",
                            "model":"gpt-5","modelProvider":"vllm",
                            "baseInstructions":"You review code."})"));
  context.system_prompt.clear();
  EXPECT_FALSE(ThreadStartParams(settings, context).contains("baseInstructions"));
}

TEST(CodexProtocolTest, LinesHaveTheShapesCodexExpects) {
  EXPECT_EQ(RequestLine(2, "turn/start", TurnStartParams("th-1", "Say \"hi\"\n")),
            R"({"method":"turn/start","id":2,"params":{"threadId":"th-1","input":[{"type":"text","text":"Say \"hi\"\n"}]}})");
  EXPECT_EQ(RequestLine(3, "turn/interrupt", TurnInterruptParams("th-1", "tu-1")),
            R"({"method":"turn/interrupt","id":3,"params":{"threadId":"th-1","turnId":"tu-1"}})");
  EXPECT_EQ(NotificationLine("initialized"), R"({"method":"initialized"})");
  EXPECT_EQ(ResultLine(json::value(7), {{"decision", "decline"}}),
            R"({"id":7,"result":{"decision":"decline"}})");
  EXPECT_EQ(ErrorLine(json::value("x"), -32601, "no"),
            R"({"id":"x","error":{"code":-32601,"message":"no"}})");
}

TEST(CodexProtocolTest, ClassifiesResponsesNotificationsAndServerRequests) {
  json::object response = json::parse(R"({"id":1,"result":{"thread":{"id":"t"}}})").as_object();
  IncomingMessage m = ClassifyMessage(response);
  EXPECT_EQ(m.kind, IncomingMessage::Kind::kResponse);
  EXPECT_EQ(m.id, json::value(1));
  ASSERT_NE(m.result, nullptr);
  EXPECT_TRUE(m.error.empty());

  json::object error = json::parse(R"({"id":0,"error":{"code":-32600,"message":"Not initialized"}})").as_object();
  EXPECT_EQ(ClassifyMessage(error).error, "Not initialized");

  json::object note = json::parse(R"({"method":"turn/started","params":{"turn":{}},"emittedAtMs":1})").as_object();
  m = ClassifyMessage(note);
  EXPECT_EQ(m.kind, IncomingMessage::Kind::kNotification);
  EXPECT_EQ(m.method, "turn/started");
  ASSERT_NE(m.params, nullptr);

  json::object request = json::parse(R"({"method":"item/fileChange/requestApproval","id":0,"params":{}})").as_object();
  EXPECT_EQ(ClassifyMessage(request).kind, IncomingMessage::Kind::kServerRequest);
  EXPECT_EQ(ClassifyMessage(json::object{{"x", 1}}).kind, IncomingMessage::Kind::kInvalid);
}

}  // namespace
}  // namespace codeswarm::worker::codex
