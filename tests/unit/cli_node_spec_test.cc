#include "cli/node_spec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>

namespace codeswarm::cli {
namespace {

struct GoodCase {
  std::string input;
  std::string json;  // what inject's payload.nodes becomes
};

TEST(CliNodeSpecTest, AcceptsAllSingleIdsListsAndRanges) {
  const GoodCase cases[] = {
      {"all", "\"all\""}, {" all ", "\"all\""},     {"3", "3"},           {"0", "0"},
      {"2-2", "[2]"},     {"0,2-5", "[0,2,3,4,5]"}, {"5,1,3", "[1,3,5]"}, {" 4 , 0-1 ", "[0,1,4]"},
  };
  for (const GoodCase& c : cases) {
    Result<NodeSpec> spec = ParseNodeSpec(c.input);
    ASSERT_TRUE(spec.ok()) << c.input << ": " << spec.status().message();
    EXPECT_EQ(boost::json::serialize(NodeSpecToJson(*spec)), c.json) << c.input;
  }
}

struct BadCase {
  std::string input;
  std::string message;
};

TEST(CliNodeSpecTest, RejectsBadSpecsWithAMessageNamingTheCulprit) {
  const BadCase cases[] = {
      {"", "empty (expected all, a node id, or a list such as 0,2-5)"},
      {"  ", "empty (expected all, a node id, or a list such as 0,2-5)"},
      {"1,,2", "empty part in \"1,,2\""},
      {",1", "empty part in \",1\""},
      {"7,", "empty part in \"7,\""},
      {"-1", "\"-1\" is negative; node ids start at 0"},
      {"0,-3", "\"-3\" is negative; node ids start at 0"},
      {"-2-3", "\"-2-3\" is negative; node ids start at 0"},
      {"5-3", "range \"5-3\" is reversed (write 3-5)"},
      {"1,2,1", "node 1 is listed twice"},
      {"0-3,2", "node 2 is listed twice"},
      {"abc", "\"abc\" is not a node id or range (expected e.g. 3 or 2-5)"},
      {"ALL", "\"ALL\" is not a node id or range (expected e.g. 3 or 2-5)"},
      {"1.5", "\"1.5\" is not a node id or range (expected e.g. 3 or 2-5)"},
      {"+1", "\"+1\" is not a node id or range (expected e.g. 3 or 2-5)"},
      {"1-", "\"1-\" is not a node id or range (expected e.g. 3 or 2-5)"},
      {"1-2-3", "\"1-2-3\" is not a node id or range (expected e.g. 3 or 2-5)"},
      {"x-3", "\"x-3\" is not a node id or range (expected e.g. 3 or 2-5)"},
      {"100000", "node 100000 is too large (at most 99999)"},
      {"0-99999999999999999999",
       "\"0-99999999999999999999\" is not a node id or range (expected "
       "e.g. 3 or 2-5)"},
  };
  for (const BadCase& c : cases) {
    Result<NodeSpec> spec = ParseNodeSpec(c.input);
    ASSERT_FALSE(spec.ok()) << "accepted: \"" << c.input << "\"";
    EXPECT_EQ(spec.status().message(), c.message) << "input: \"" << c.input << "\"";
  }
}

}  // namespace
}  // namespace codeswarm::cli
