// What `codeswarm attach` prints for approvals a person decides: each waiting request with the
// commands that answer it, and how it was answered.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <sstream>

#include "cli/attach_renderer.h"
#include "cli/stream_printer.h"
#include "cli/turn_renderer.h"

namespace codeswarm::cli {
namespace {

std::string Render(const std::vector<std::string>& lines) {
  std::ostringstream out, err;
  Output output(out, err, false);
  AttachRenderer renderer("s-1", output);
  for (const std::string& line : lines) {
    std::optional<Event> event = ParseEvent(line);
    EXPECT_TRUE(event.has_value()) << line;
    if (event) renderer.OnEvent(*event);
  }
  renderer.EndOpenLine();
  return out.str();
}

TEST(CliAttachApprovalsTest, RequestShowsHowToAnswerItAndThenHowItWasAnswered) {
  std::string out = Render({
      R"({"type":"event","seq":1,"event":"approval_request","data":{"swarm_id":"s-1","node_id":2,"injection_id":"i-1","approval_id":"a-9","kind":"command","subject":"touch x","timeout_seconds":300}})",
      R"({"type":"event","seq":2,"event":"approval_decide_ack","data":{"swarm_id":"s-1","node_id":2,"injection_id":"i-1","approval_id":"a-9","decision":"accept","request_id":"r"}})",
      R"({"type":"event","seq":3,"event":"approval","data":{"swarm_id":"s-1","node_id":2,"injection_id":"i-1","approval_id":"a-9","kind":"command","subject":"touch x","decision":"accept","decided_by":"person"}})",
      R"({"type":"event","seq":4,"event":"approval","data":{"swarm_id":"s-1","node_id":0,"injection_id":"i-1","approval_id":"a-8","kind":"tool","subject":"Bash: rm y","decision":"decline","decided_by":"timeout","reason":"no one decided within 300 s"}})",
      R"({"type":"event","seq":5,"event":"approval","data":{"swarm_id":"s-2","node_id":0,"injection_id":"i-1","kind":"tool","subject":"other swarm","decision":"accept","decided_by":"policy"}})",
  });
  EXPECT_EQ(out,
            "[node 2] asks to run a command: touch x (approval a-9): codeswarm approve s-1 2 a-9 "
            "| codeswarm deny s-1 2 a-9\n"
            "[node 2] a-9: approved; the decision is on its way to the agent\n"
            "[node 2] a-9: accepted by a person — touch x\n"
            "[node 0] a-8: declined (no one decided within 300 s) — Bash: rm y\n");
}

TEST(CliAttachApprovalsTest, InjectShowsRequestsAndAnswersOfTheTurnsItFollows) {
  std::ostringstream out;
  StreamPrinter printer(out);
  TurnRenderer turns(printer);
  for (const char* line : {
           R"({"type":"event","seq":1,"event":"approval_request","data":{"swarm_id":"s-1","node_id":0,"injection_id":"i-1","approval_id":"a-9","kind":"tool","subject":"Bash: ls","timeout_seconds":300}})",
           R"({"type":"event","seq":2,"event":"approval","data":{"swarm_id":"s-1","node_id":0,"injection_id":"i-1","kind":"tool","subject":"Bash: ls","decision":"accept","decided_by":"policy"}})",
       }) {
    std::optional<Event> event = ParseEvent(line);
    ASSERT_TRUE(event.has_value());
    EXPECT_TRUE(TurnRenderer::IsRuntimeEvent(event->name));
    EXPECT_FALSE(turns.Render(*event).has_value());  // neither ends the turn
  }
  printer.EndOpenLine();
  EXPECT_EQ(out.str(),
            "[node 0] asks to use a tool: Bash: ls (approval a-9): codeswarm approve s-1 0 a-9 | "
            "codeswarm deny s-1 0 a-9\n"
            "[node 0] approval: accepted by the configured policy — Bash: ls\n");
}

TEST(CliAttachApprovalsTest, StatusListsTheRequestsThatWaitAlready) {
  boost::json::object status = boost::json::parse(R"({"swarm_id":"s-1","nodes":[
      {"node_id":0,"approvals_waiting":[]},
      {"node_id":1,"approvals_waiting":[{"approval_id":"a-7","injection_id":"i-1","kind":"file_change","subject":"notes.txt","decided":false}]}]})")
                                   .as_object();
  EXPECT_EQ(FormatWaitingApprovals(status),
            "[node 1] asks to change files: notes.txt (approval a-7): codeswarm approve s-1 1 a-7 "
            "| codeswarm deny s-1 1 a-7\n");
  EXPECT_EQ(FormatWaitingApprovals(boost::json::object{{"swarm_id", "s-1"}}), "");
}

}  // namespace
}  // namespace codeswarm::cli
