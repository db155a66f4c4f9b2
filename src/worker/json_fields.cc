#include "worker/json_fields.h"

#include <boost/json.hpp>

namespace codeswarm::worker {
namespace json = boost::json;

std::string_view StringAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return {};
  const json::string& s = value->get_string();
  return {s.data(), s.size()};
}

int64_t IntAt(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr) return 0;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64()) return static_cast<int64_t>(value->get_uint64());
  if (value->is_double()) return static_cast<int64_t>(value->get_double());
  return 0;
}

const json::object& ObjectAt(const json::object& object, std::string_view key) {
  static const json::object kEmpty;
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? value->get_object() : kEmpty;
}

bool HasValue(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && !value->is_null();
}

}  // namespace codeswarm::worker
