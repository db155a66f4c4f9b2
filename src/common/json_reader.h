// Typed, path-aware reading of JSON objects, shared by the config loader and the protocol
// parsers so that every bad value is reported the same way: "<path>: <what was expected>, got
// <what was there>". Unknown keys are errors, never silently ignored.
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace codeswarm {

// Collects every problem found while reading one document.
class JsonErrors {
 public:
  void Add(std::string message) { messages_.push_back(std::move(message)); }
  bool empty() const { return messages_.empty(); }
  const std::vector<std::string>& messages() const { return messages_; }
  // All messages joined with "; ", or ok when there are none.
  Status ToStatus() const;

 private:
  std::vector<std::string> messages_;
};

// Reads the fields of one object. Every getter marks its key as known; Finish() reports the keys
// nobody asked for. Getters leave *out untouched when the key is absent or invalid, so callers
// pre-fill defaults. Not thread-safe; borrows `object` and `errors`.
class JsonObjectReader {
 public:
  // `path` is the dotted path of `object` itself ("" for the document root).
  JsonObjectReader(const boost::json::object& object, std::string path, JsonErrors* errors);

  // Each returns true when the key was present with a valid value.
  bool String(std::string_view key, std::string* out);
  bool NonEmptyString(std::string_view key, std::string* out);
  bool Int(std::string_view key, int64_t min, int64_t max, int64_t* out);
  bool Int(std::string_view key, int min, int max, int* out);
  bool Number(std::string_view key, double min, double max, double* out);
  bool Bool(std::string_view key, bool* out);
  bool StringList(std::string_view key, std::vector<std::string>* out);
  // One of `choices`.
  bool Enum(std::string_view key, const std::vector<std::string_view>& choices, std::string* out);
  // A nested object, or null when absent (no error) or not an object (error recorded).
  const boost::json::object* Object(std::string_view key);
  // Marks `key` as known and returns its raw value, or null when absent.
  const boost::json::value* Raw(std::string_view key);

  // Records "missing" when `key` is absent. Returns whether it is present.
  bool Require(std::string_view key);
  bool Has(std::string_view key) const;
  // Records an error for `key` with the reader's path.
  void Error(std::string_view key, std::string_view message);
  // Records every key that no getter asked for as unknown.
  void Finish();

  std::string PathOf(std::string_view key) const;
  JsonErrors* errors() const { return errors_; }

 private:
  const boost::json::value* Find(std::string_view key);
  void TypeError(std::string_view key, std::string_view expected, const boost::json::value& got);

  const boost::json::object& object_;
  std::string path_;
  JsonErrors* errors_;
  std::vector<std::string> known_;
};

// A short human description of a JSON value for error messages: `string "abc"`, `integer 7`,
// `array`, ... Long strings are cut.
std::string DescribeJsonValue(const boost::json::value& value);

// The JSON kind name: "object", "array", "string", "integer", "number", "boolean", "null".
std::string_view JsonKindName(const boost::json::value& value);

// Serializes `text` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view text);
// Appends the JSON string literal for `text` to `out`.
void AppendJsonQuoted(std::string& out, std::string_view text);

// Returns ok when `text` is exactly one syntactically valid JSON value. Does not build a DOM.
// When the value is an object, a key of it (not of nested objects) that is in `reserved_keys`
// makes it invalid: fields the receiver adds must not come twice.
Status ValidateJson(std::string_view text, std::span<const std::string_view> reserved_keys = {});

// True when no number in `value` is infinite. Boost.JSON reads a number beyond the range of a
// double (1e400) as infinity and writes infinity back as `Infinity`, which is not JSON: input
// that is serialized again must be refused instead.
bool AllNumbersFinite(const boost::json::value& value);

// Parses one JSON object from `text`, with a readable error. Numbers must be finite.
Result<boost::json::object> ParseJsonObject(std::string_view text);

// Returns `base` with `override_with` merged in: objects merge key by key, anything else
// replaces.
boost::json::object MergeJsonObjects(const boost::json::object& base,
                                     const boost::json::object& override_with);

}  // namespace codeswarm
