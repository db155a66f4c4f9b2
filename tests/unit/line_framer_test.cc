#include "protocol/line_framer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace codeswarm::protocol {
namespace {

// Drains the framer into "L:<line>" / "TOO_LONG" strings.
std::vector<std::string> Drain(LineFramer& framer) {
  std::vector<std::string> out;
  while (auto item = framer.Next()) {
    out.push_back(item->kind == LineFramer::Item::Kind::kLine ? "L:" + std::string(item->line)
                                                              : "TOO_LONG");
  }
  return out;
}

TEST(LineFramerTest, SplitsLinesAndBuffersPartialOnes) {
  LineFramer framer(100);
  framer.Feed("one\ntw");
  EXPECT_EQ(Drain(framer), (std::vector<std::string>{"L:one"}));
  EXPECT_EQ(framer.buffered(), 2u);
  framer.Feed("o\r\n\nthree\n");
  EXPECT_EQ(Drain(framer), (std::vector<std::string>{"L:two", "L:", "L:three"}));
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(LineFramerTest, OverlongLineIsReportedBeforeItsEndArrivesAndNotBuffered) {
  LineFramer framer(8);
  framer.Feed("123456789");  // 9 bytes, no newline yet: over the limit already
  EXPECT_EQ(Drain(framer), (std::vector<std::string>{"TOO_LONG"}));
  EXPECT_EQ(framer.buffered(), 0u);
  framer.Feed(std::string(1000, 'x'));
  EXPECT_EQ(Drain(framer), std::vector<std::string>{});
  EXPECT_EQ(framer.buffered(), 0u);
  framer.Feed("tail\nok\n");
  EXPECT_EQ(Drain(framer), (std::vector<std::string>{"L:ok"}));
}

TEST(LineFramerTest, OverlongLineArrivingWholeIsRejectedToo) {
  LineFramer framer(4);
  framer.Feed("12345\n1234\n");
  EXPECT_EQ(Drain(framer), (std::vector<std::string>{"TOO_LONG", "L:1234"}));
}

TEST(LineFramerTest, PrepareCommitReadsInPlace) {
  LineFramer framer(1 << 20);
  std::string data = "a\nbb\nccc";
  auto area = framer.Prepare(data.size());
  ASSERT_GE(area.size(), data.size());
  data.copy(area.data(), data.size());
  framer.Commit(data.size());
  EXPECT_EQ(Drain(framer), (std::vector<std::string>{"L:a", "L:bb"}));
  framer.Feed("\n");
  EXPECT_EQ(Drain(framer), (std::vector<std::string>{"L:ccc"}));
}

TEST(LineFramerTest, ManySmallFeedsOfLargeStream) {
  LineFramer framer(64);
  std::string all;
  for (int i = 0; i < 1000; ++i) all += "line-" + std::to_string(i) + "\n";
  int lines = 0;
  for (std::size_t i = 0; i < all.size(); i += 7) {
    framer.Feed(std::string_view(all).substr(i, 7));
    while (auto item = framer.Next()) {
      ASSERT_EQ(item->kind, LineFramer::Item::Kind::kLine);
      EXPECT_EQ(item->line, "line-" + std::to_string(lines));
      ++lines;
    }
  }
  EXPECT_EQ(lines, 1000);
}

}  // namespace
}  // namespace codeswarm::protocol
