// Equality of JSON values for the round-trip invariants, allowing for Boost.JSON 1.81: its
// parser is not correctly rounded for long numbers, so a double written in shortest form can
// read back one or two ulps away. NaN (which it makes of -0e400) equals NaN here.
#pragma once

#include <boost/json.hpp>

#include <cmath>
#include <string_view>

namespace codeswarm::fuzz {

inline bool SameNumber(double x, double y) {
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
  if (x == y) return true;
  return std::fabs(x - y) <= 1e-14 * std::fmax(std::fabs(x), std::fabs(y));
}

inline bool SameJson(const boost::json::value& a, const boost::json::value& b) {
  namespace json = boost::json;
  if (a.is_double() && b.is_double()) return SameNumber(a.get_double(), b.get_double());
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const json::array& x = a.get_array();
    const json::array& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!SameJson(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const json::object& x = a.get_object();
    const json::object& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& [key, value] : x) {
      const json::value* other = y.if_contains(key);
      if (other == nullptr || !SameJson(value, *other)) return false;
    }
    return true;
  }
  return a == b;
}

// SameJson of two JSON texts; false when either does not parse.
inline bool SameJsonText(std::string_view a, std::string_view b) {
  boost::json::error_code ec_a, ec_b;
  boost::json::value x = boost::json::parse(a, ec_a);
  boost::json::value y = boost::json::parse(b, ec_b);
  return !ec_a && !ec_b && SameJson(x, y);
}

}  // namespace codeswarm::fuzz
