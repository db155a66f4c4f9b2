#include "cli/event.h"

#include <boost/json.hpp>

namespace codeswarm::cli {

std::string_view StrField(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return {};
  return value->get_string();
}

std::optional<int64_t> IntField(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64() && value->get_uint64() <= INT64_MAX) {
    return static_cast<int64_t>(value->get_uint64());
  }
  return std::nullopt;
}

std::string_view Event::Str(std::string_view key) const { return StrField(data, key); }

std::optional<int64_t> Event::Int(std::string_view key) const { return IntField(data, key); }

bool Event::AnswersRequest(std::string_view request_id) const {
  return !request_id.empty() && Str("request_id") == request_id;
}

bool Event::RejectsRequest(std::string_view request_id) const {
  if (name != "command_rejected") return false;
  const boost::json::value* id = data.if_contains("request_id");
  return id == nullptr || id->is_null() || AnswersRequest(request_id);
}

std::optional<Event> ParseEvent(std::string_view line) {
  boost::json::error_code ec;
  boost::json::value value = boost::json::parse(line, ec);
  if (ec || !value.is_object()) return std::nullopt;
  boost::json::object& envelope = value.get_object();
  if (StrField(envelope, "type") != "event") return std::nullopt;
  std::string_view name = StrField(envelope, "event");
  if (name.empty()) return std::nullopt;
  Event event;
  event.raw = std::string(line);
  event.name = std::string(name);
  event.seq = IntField(envelope, "seq");
  if (boost::json::value* data = envelope.if_contains("data"); data && data->is_object()) {
    event.data = std::move(data->get_object());
  }
  return event;
}

}  // namespace codeswarm::cli
