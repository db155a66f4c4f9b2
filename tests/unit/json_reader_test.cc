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

TEST(JsonReaderTest, IntegralDoubleBeyondInt64IsATypeError) {
  // Regression (found by fuzz_client_line and fuzz_worker_line under UBSan): "nodes":8e76 was
  // converted to int64 before its range was checked, which is undefined behaviour.
  json::object doc =
      json::parse(R"({"a":8.1e76,"b":-9.3e18,"c":9223372036854775807.0,"d":4.0})").as_object();
  JsonErrors errors;
  JsonObjectReader r(doc, "p", &errors);
  int64_t value = 7;
  EXPECT_FALSE(r.Int("a", int64_t{0}, INT64_MAX, &value));
  EXPECT_FALSE(r.Int("b", INT64_MIN, INT64_MAX, &value));
  EXPECT_FALSE(r.Int("c", INT64_MIN, INT64_MAX, &value));
  EXPECT_EQ(value, 7);
  EXPECT_TRUE(r.Int("d", int64_t{0}, int64_t{10}, &value));
  EXPECT_EQ(value, 4);
  EXPECT_EQ(errors.ToStatus().message().rfind("p.a: expected an integer from 0 to ", 0), 0u)
      << errors.ToStatus().message();
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

TEST(ValidateJsonTest, RefusesReservedKeysOfTheTopLevelObjectOnly) {
  constexpr std::string_view kReserved[] = {"node_id", "swarm_id"};
  EXPECT_TRUE(
      ValidateJson(R"({"delta":"x","meta":{"node_id":1},"l":[{"swarm_id":2}]})", kReserved).ok());
  Status refused = ValidateJson(R"({"delta":"x","node_id":9})", kReserved);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(), R"("node_id" is reserved: the receiver adds it itself)");
  // An escaped key reaches the handler in parts; it names the same key.
  EXPECT_FALSE(ValidateJson(R"({"swarm\u005fid":"s-evil"})", kReserved).ok());
  EXPECT_TRUE(ValidateJson(R"({"node_id":9})").ok());  // nothing reserved
}

TEST(ParseJsonObjectTest, NumberBeyondTheRangeOfADoubleIsRefused) {
  // Regression (found by fuzz_client_line): such a number is read as infinity, which
  // serializes as `Infinity`, not JSON.
  EXPECT_TRUE(ParseJsonObject(R"({"a":[1e308,-1e308,1e-400]})").ok());
  for (const char* text : {R"({"a":1e400})", R"({"a":[{"b":-1e309}]})"}) {
    Result<json::object> parsed = ParseJsonObject(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().message(),
              "not valid JSON: a number is out of range (beyond the range of a double)");
  }
}

TEST(DescribeJsonValueTest, LongStringIsCutOnACharacterBoundary) {
  // Regression (found by fuzz_client_line): the 40-byte cut fell inside "é", so rejection
  // reasons, and the command_rejected line that carries them, were not valid UTF-8.
  std::string text = std::string(39, 'a') + "\xC3\xA9\xC3\xA9";
  EXPECT_EQ(DescribeJsonValue(json::value(text)), "string \"" + std::string(39, 'a') + "\"...");
}

}  // namespace
}  // namespace codeswarm
