#include "common/text.h"

#include <gtest/gtest.h>

namespace codeswarm {
namespace {

TEST(Utf8Test, AcceptsValidText) {
  EXPECT_EQ(FindInvalidUtf8(""), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("plain ascii"), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"), std::nullopt);
}

TEST(Utf8Test, ReportsOffsetOfFirstInvalidSequence) {
  struct Row {
    std::string text;
    std::size_t offset;
  };
  const Row rows[] = {
      {"ab\xFF", 2},               // never valid
      {"\xC3", 0},                 // truncated
      {"x\xC3(", 1},               // bad continuation
      {"\xC0\xAF", 0},             // overlong '/'
      {"\xE0\x80\xAF", 0},         // overlong 3-byte
      {"\xED\xA0\x80", 0},         // UTF-16 surrogate
      {"\xF4\x90\x80\x80", 0},     // above U+10FFFF
      {"ok\xE2\x82", 2},           // truncated at end
  };
  for (const Row& row : rows) {
    EXPECT_EQ(FindInvalidUtf8(row.text), row.offset) << testing::PrintToString(row.text);
  }
}

TEST(TextTest, ParsesWholeIntegersOnly) {
  EXPECT_EQ(ParseInteger("42"), 42);
  EXPECT_EQ(ParseInteger("-3"), -3);
  EXPECT_EQ(ParseInteger(""), std::nullopt);
  EXPECT_EQ(ParseInteger("4x"), std::nullopt);
  EXPECT_EQ(ParseInteger(" 4"), std::nullopt);
}

TEST(TextTest, EllipsizeCutsOnCharacterBoundary) {
  EXPECT_EQ(Ellipsize("short", 10), "short");
  EXPECT_EQ(Ellipsize("abcdef", 3), "abc...");
  EXPECT_EQ(Ellipsize("a\xC3\xA9z", 2), "a...");
}

TEST(TextTest, Utf8PrefixNeverEndsInsideACharacter) {
  EXPECT_EQ(Utf8Prefix("abc", 5), "abc");
  EXPECT_EQ(Utf8Prefix("a\xC3\xA9z", 2), "a");
  EXPECT_EQ(Utf8Prefix("a\xC3\xA9z", 3), "a\xC3\xA9");
  EXPECT_EQ(Utf8Prefix("\xF0\x9F\x98\x80", 3), "");
}

TEST(TextTest, SplitKeepsEmptyParts) {
  auto parts = SplitString("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(TrimWhitespace("  x y \n"), "x y");
}

}  // namespace
}  // namespace codeswarm
