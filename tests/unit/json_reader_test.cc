#include "common/json_reader.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace codeswarm {
namespace {

namespace json = boost::json;

TEST(JsonReaderTest, ReportsEveryProblemWithItsPath) {
  json::object doc = json::parse(R"({"port":"80","name":"x","extra":1,"n":{"deep":true}})")
                         .as_object();
  JsonErrors errors;
  JsonObjectReader r(doc, "router", &errors);
  int port = 1;
  std::string name;
  EXPECT_FALSE(r.Int("port", 1, 65535, &port));
  EXPECT_TRUE(r.String("name", &name));
  const json::object* n = r.Object("n");
  ASSERT_NE(n, nullptr);
  JsonObjectReader nested(*n, r.PathOf("n"), &errors);
  nested.Finish();
  r.Finish();
  ASSERT_EQ(errors.messages().size(), 3u);
  EXPECT_EQ(errors.messages()[0],
            "router.port: expected an integer from 1 to 65535, got string \"80\"");
  EXPECT_EQ(errors.messages()[1], "router.n.deep: unknown key");
  EXPECT_EQ(errors.messages()[2], "router.extra: unknown key");
  EXPECT_EQ(port, 1);  // untouched on error
}

TEST(JsonReaderTest, IntegerRangeAndIntegralDoubles) {
  json::object doc = json::parse(R"({"a":3.0,"b":3.5,"c":0,"d":true})").as_object();
  JsonErrors errors;
  JsonObjectReader r(doc, "", &errors);
  int64_t v = 0;
  EXPECT_TRUE(r.Int("a", 1, 10, &v));
  EXPECT_EQ(v, 3);
  EXPECT_FALSE(r.Int("b", 1, 10, &v));
  EXPECT_FALSE(r.Int("c", 1, 10, &v));
  EXPECT_FALSE(r.Int("d", 1, 10, &v));
  EXPECT_EQ(errors.messages().size(), 3u);
  EXPECT_EQ(errors.messages()[2], "d: expected an integer from 1 to 10, got boolean true");
}

TEST(JsonReaderTest, EnumListsChoices) {
  json::object doc = json::parse(R"({"kind":"mok"})").as_object();
  JsonErrors errors;
  JsonObjectReader r(doc, "agent", &errors);
  std::string kind;
  EXPECT_FALSE(r.Enum("kind", {"mock", "codex"}, &kind));
  EXPECT_EQ(errors.messages().at(0),
            "agent.kind: expected one of \"mock\", \"codex\", got \"mok\"");
}

TEST(JsonReaderTest, RequireReportsMissing) {
  json::object doc;
  JsonErrors errors;
  JsonObjectReader r(doc, "payload", &errors);
  EXPECT_FALSE(r.Require("content"));
  EXPECT_EQ(errors.ToStatus().message(), "payload.content: missing (required)");
}

TEST(JsonQuoteTest, EscapesControlCharactersAndQuotes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
  std::string raw = "tab\there \xC3\xA9";
  EXPECT_EQ(json::parse(JsonQuote(raw)).as_string(), raw);
}

TEST(ValidateJsonTest, AcceptsOneValueOnly) {
  EXPECT_TRUE(ValidateJson(R"({"a":[1,2,{"b":null}]})").ok());
  EXPECT_TRUE(ValidateJson("{}").ok());
  EXPECT_FALSE(ValidateJson("{").ok());
  EXPECT_FALSE(ValidateJson(R"({"a":1}x)").ok());
  EXPECT_FALSE(ValidateJson(R"({"a":1} {})").ok());
  EXPECT_FALSE(ValidateJson("").ok());
}

}  // namespace
}  // namespace codeswarm
