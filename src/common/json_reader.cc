#include "common/json_reader.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/text.h"

namespace codeswarm {
namespace json = boost::json;

Status JsonErrors::ToStatus() const {
  if (messages_.empty()) return Status::Ok();
  std::string joined;
  for (const std::string& m : messages_) {
    if (!joined.empty()) joined += "; ";
    joined += m;
  }
  return Status::InvalidArgument(std::move(joined));
}

JsonObjectReader::JsonObjectReader(const json::object& object, std::string path,
                                   JsonErrors* errors)
    : object_(object), path_(std::move(path)), errors_(errors) {}

std::string JsonObjectReader::PathOf(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

const json::value* JsonObjectReader::Find(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  return object_.if_contains(key);
}

bool JsonObjectReader::Has(std::string_view key) const { return object_.contains(key); }

void JsonObjectReader::Error(std::string_view key, std::string_view message) {
  errors_->Add(PathOf(key) + ": " + std::string(message));
}

void JsonObjectReader::TypeError(std::string_view key, std::string_view expected,
                                 const json::value& got) {
  Error(key, "expected " + std::string(expected) + ", got " + DescribeJsonValue(got));
}

bool JsonObjectReader::Require(std::string_view key) {
  if (Has(key)) return true;
  errors_->Add(PathOf(key) + ": missing (required)");
  return false;
}

bool JsonObjectReader::String(std::string_view key, std::string* out) {
  const json::value* v = Find(key);
  if (v == nullptr) return false;
  if (!v->is_string()) {
    TypeError(key, "a string", *v);
    return false;
  }
  *out = std::string(v->get_string());
  return true;
}

bool JsonObjectReader::NonEmptyString(std::string_view key, std::string* out) {
  std::string value;
  if (!String(key, &value)) return false;
  if (value.empty()) {
    Error(key, "must not be empty");
    return false;
  }
  *out = std::move(value);
  return true;
}

bool JsonObjectReader::Int(std::string_view key, int64_t min, int64_t max, int64_t* out) {
  const json::value* v = Find(key);
  if (v == nullptr) return false;
  std::string expected =
      "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  int64_t value = 0;
  if (v->is_int64()) {
    value = v->get_int64();
  } else if (v->is_uint64()) {
    TypeError(key, expected, *v);
    return false;
  } else if (v->is_double() && v->get_double() >= -0x1p63 && v->get_double() < 0x1p63 &&
             v->get_double() == std::trunc(v->get_double())) {
    // 3.0 is accepted as 3: some JSON writers emit integral numbers that way. The range is
    // checked first: converting a double beyond int64 is undefined behaviour.
    value = static_cast<int64_t>(v->get_double());
  } else {
    TypeError(key, expected, *v);
    return false;
  }
  if (value < min || value > max) {
    TypeError(key, expected, *v);
    return false;
  }
  *out = value;
  return true;
}

bool JsonObjectReader::Int(std::string_view key, int min, int max, int* out) {
  int64_t value = 0;
  if (!Int(key, static_cast<int64_t>(min), static_cast<int64_t>(max), &value)) return false;
  *out = static_cast<int>(value);
  return true;
}

bool JsonObjectReader::Number(std::string_view key, double min, double max, double* out) {
  const json::value* v = Find(key);
  if (v == nullptr) return false;
  if (!v->is_number()) {
    TypeError(key, "a number", *v);
    return false;
  }
  double value = v->to_number<double>();
  if (value < min || value > max) {
    std::string range = "a number from " + json::serialize(json::value(min)) + " to " +
                        json::serialize(json::value(max));
    TypeError(key, range, *v);
    return false;
  }
  *out = value;
  return true;
}

bool JsonObjectReader::Bool(std::string_view key, bool* out) {
  const json::value* v = Find(key);
  if (v == nullptr) return false;
  if (!v->is_bool()) {
    TypeError(key, "true or false", *v);
    return false;
  }
  *out = v->get_bool();
  return true;
}

bool JsonObjectReader::StringList(std::string_view key, std::vector<std::string>* out) {
  const json::value* v = Find(key);
  if (v == nullptr) return false;
  if (!v->is_array()) {
    TypeError(key, "a list of strings", *v);
    return false;
  }
  std::vector<std::string> values;
  const json::array& array = v->get_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_string()) {
      errors_->Add(PathOf(key) + "[" + std::to_string(i) + "]: expected a string, got " +
                   DescribeJsonValue(array[i]));
      return false;
    }
    values.emplace_back(array[i].get_string());
  }
  *out = std::move(values);
  return true;
}

bool JsonObjectReader::Enum(std::string_view key, const std::vector<std::string_view>& choices,
                            std::string* out) {
  std::string value;
  if (!String(key, &value)) return false;
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) {
    *out = std::move(value);
    return true;
  }
  std::string expected = "one of";
  for (std::size_t i = 0; i < choices.size(); ++i) {
    expected += (i == 0 ? " " : ", ") + JsonQuote(choices[i]);
  }
  Error(key, "expected " + expected + ", got " + JsonQuote(value));
  return false;
}

const json::object* JsonObjectReader::Object(std::string_view key) {
  const json::value* v = Find(key);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    TypeError(key, "an object", *v);
    return nullptr;
  }
  return &v->get_object();
}

const json::value* JsonObjectReader::Raw(std::string_view key) { return Find(key); }

void JsonObjectReader::Finish() {
  for (const auto& entry : object_) {
    std::string_view key = entry.key();
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      errors_->Add(PathOf(key) + ": unknown key");
    }
  }
}

std::string_view JsonKindName(const json::value& value) {
  switch (value.kind()) {
    case json::kind::object: return "object";
    case json::kind::array: return "array";
    case json::kind::string: return "string";
    case json::kind::int64:
    case json::kind::uint64: return "integer";
    case json::kind::double_: return "number";
    case json::kind::bool_: return "boolean";
    case json::kind::null: return "null";
  }
  return "value";
}

std::string DescribeJsonValue(const json::value& value) {
  constexpr std::size_t kMaxShown = 40;
  switch (value.kind()) {
    case json::kind::object: return "an object";
    case json::kind::array: return "a list";
    case json::kind::null: return "null";
    case json::kind::string: {
      std::string_view s = value.get_string();
      if (s.size() <= kMaxShown) return "string " + JsonQuote(s);
      // Cut on a character boundary: this text goes into messages that must stay UTF-8.
      return "string " + JsonQuote(Utf8Prefix(s, kMaxShown)) + "...";
    }
    case json::kind::double_: {
      char digits[32];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value.get_double());
      return "number " + std::string(digits, end);
    }
    default:
      return std::string(JsonKindName(value)) + " " + json::serialize(value);
  }
}

void AppendJsonQuoted(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(text.data() + run_start, text.size() - run_start);
  out.push_back('"');
}

std::string JsonQuote(std::string_view text) {
  std::string out;
  AppendJsonQuoted(out, text);
  return out;
}

bool AllNumbersFinite(const json::value& value) {
  switch (value.kind()) {
    case json::kind::double_: return std::isfinite(value.get_double());
    case json::kind::array:
      return std::all_of(value.get_array().begin(), value.get_array().end(),
                         [](const json::value& v) { return AllNumbersFinite(v); });
    case json::kind::object:
      return std::all_of(
          value.get_object().begin(), value.get_object().end(),
          [](const json::key_value_pair& kv) { return AllNumbersFinite(kv.value()); });
    default: return true;
  }
}

Result<json::object> ParseJsonObject(std::string_view text) {
  json::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) return Status::InvalidArgument("not valid JSON: " + ec.message());
  if (!AllNumbersFinite(value)) {
    return Status::InvalidArgument(
        "not valid JSON: a number is out of range (beyond the range of a double)");
  }
  if (!value.is_object()) {
    return Status::InvalidArgument("expected a JSON object, got " + DescribeJsonValue(value));
  }
  return std::move(value.get_object());
}

json::object MergeJsonObjects(const json::object& base, const json::object& override_with) {
  json::object merged = base;
  for (const auto& entry : override_with) {
    json::value* existing = merged.if_contains(entry.key());
    if (existing != nullptr && existing->is_object() && entry.value().is_object()) {
      *existing = MergeJsonObjects(existing->get_object(), entry.value().get_object());
    } else {
      merged[entry.key()] = entry.value();
    }
  }
  return merged;
}

}  // namespace codeswarm
