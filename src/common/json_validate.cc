// ValidateJson (common/json_reader.h): a syntax check on Boost.JSON's SAX parser, with no tree
// built, for the hot path that forwards a worker's event data as it is.
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include <limits>
#include <span>
#include <string>

#include "common/json_reader.h"

namespace codeswarm {
namespace json = boost::json;

namespace {

// A SAX handler that accepts every value (basic_parser alone checks the syntax) and watches the
// keys of the top-level object for reserved ones.
struct ValidatingHandler {
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();

  explicit ValidatingHandler(std::span<const std::string_view> reserved) : reserved(reserved) {}

  std::span<const std::string_view> reserved;
  int depth = 0;
  std::string key;                  // the top-level key being read, when it comes in parts
  std::string_view reserved_found;  // set when the top-level object has a reserved key

  bool CheckKey(json::string_view last_part, json::error_code& ec) {
    std::string_view whole = last_part;
    if (!key.empty()) {
      key.append(last_part.data(), last_part.size());
      whole = key;
    }
    for (std::string_view r : reserved) {
      if (whole == r) {
        reserved_found = r;
        ec = json::error::syntax;
        return false;
      }
    }
    key.clear();
    return true;
  }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) {
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    --depth;
    return true;
  }
  bool on_object_begin(json::error_code&) {
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    --depth;
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view part, std::size_t, json::error_code&) {
    if (depth == 1 && !reserved.empty()) key.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, std::size_t, json::error_code& ec) {
    if (depth != 1 || reserved.empty()) return true;
    return CheckKey(part, ec);
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

}  // namespace

Status ValidateJson(std::string_view text, std::span<const std::string_view> reserved_keys) {
  json::basic_parser<ValidatingHandler> parser{json::parse_options{}, reserved_keys};
  json::error_code ec;
  std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!parser.handler().reserved_found.empty()) {
    return Status::InvalidArgument(JsonQuote(parser.handler().reserved_found) +
                                   " is reserved: the receiver adds it itself");
  }
  if (ec) {
    return Status::InvalidArgument("not valid JSON: " + ec.message() + " at byte " +
                                   std::to_string(used));
  }
  if (used != text.size()) {
    return Status::InvalidArgument("not valid JSON: unexpected characters after the value at byte " +
                                   std::to_string(used));
  }
  return Status::Ok();
}

}  // namespace codeswarm
