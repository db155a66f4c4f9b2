// SplitEventLine: the inverse of AppendEventLine, which the journal's compact form relies on.
#include "protocol/event_line.h"

#include <gtest/gtest.h>

namespace codeswarm::protocol {
namespace {

TEST(EventLineTest, SplitGivesBackThePartsAppendEventLineJoined) {
  std::string line;
  AppendRuntimeEventLine(line, 1234, "2026-12-02T10:00:00.123Z", "assistant_delta",
                         R"("swarm_id":"s-1","job_id":"j-1","node_id":3)", "i-7",
                         R"({"delta":"he said \"}\n\""})");
  auto parts = SplitEventLine(line);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->seq, 1234u);
  EXPECT_EQ(parts->timestamp, "2026-12-02T10:00:00.123Z");
  EXPECT_EQ(parts->event, "assistant_delta");
  EXPECT_EQ(
      parts->data,
      R"({"swarm_id":"s-1","job_id":"j-1","node_id":3,"injection_id":"i-7","delta":"he said \"}\n\""})");
  std::string again;
  AppendEventLine(again, parts->seq, parts->timestamp, parts->event, parts->data);
  EXPECT_EQ(again, line);
}

TEST(EventLineTest, SplitRefusesLinesOfAnyOtherShape) {
  std::string no_seq;
  AppendEventLine(no_seq, std::nullopt, "t", "status", "{}");
  EXPECT_FALSE(SplitEventLine(no_seq));
  std::string good;
  AppendEventLine(good, 7, "t", "e", "{}");
  ASSERT_TRUE(SplitEventLine(good));
  EXPECT_FALSE(SplitEventLine(good.substr(0, good.size() - 1)));  // no newline
  for (
      const char* line : {
          "",
          "e1.......\n",
          R"({"protocol":"codeswarm.router.v1","type":"event","seq":07,"timestamp":"t","event":"e","data":{}})"
          "\n",
          R"({"protocol":"codeswarm.router.v1","type":"event","seq":-7,"timestamp":"t","event":"e","data":{}})"
          "\n",
          R"({"protocol":"codeswarm.router.v1","type":"event","seq":99999999999999999999,"timestamp":"t","event":"e","data":{}})"
          "\n",
          R"({"protocol":"codeswarm.router.v1","type":"event","seq":7,"timestamp":"t","event":"e"})"
          "\n",
          R"({"protocol":"codeswarm.router.v2","type":"event","seq":7,"timestamp":"t","event":"e","data":{}})"
          "\n",
      }) {
    EXPECT_FALSE(SplitEventLine(line)) << line;
  }
}

}  // namespace
}  // namespace codeswarm::protocol
