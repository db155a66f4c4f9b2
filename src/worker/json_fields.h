// Lenient readers of the fields of JSON objects that agents send (codex, claude, an
// OpenAI-compatible server): their messages carry many optional fields, so a missing field or
// one of another type reads as empty, 0 or an empty object instead of failing.
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <string_view>

namespace codeswarm::worker {

// The string at `key`, or "".
std::string_view StringAt(const boost::json::object& object, std::string_view key);
// The integer at `key` (a double is truncated), or 0.
int64_t IntAt(const boost::json::object& object, std::string_view key);
// The object at `key`, or an empty object.
const boost::json::object& ObjectAt(const boost::json::object& object, std::string_view key);
// True when the field is present and not null.
bool HasValue(const boost::json::object& object, std::string_view key);

}  // namespace codeswarm::worker
