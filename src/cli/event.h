// Events received from the router (see docs/PROTOCOL.md, "Envelopes"), with lenient field
// access: clients ignore unknown events and fields, and a missing or mistyped field reads as
// empty rather than failing a command.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace codeswarm::cli {

struct Event {
  // The line exactly as received (without its newline): what `--json` prints.
  std::string raw;
  // The envelope's "event", e.g. "inject_ack".
  std::string name;
  // The envelope's "data" (empty when absent).
  boost::json::object data;
  // The envelope's "seq": set on broadcast events, absent on answers to this client only.
  std::optional<int64_t> seq;

  // data[key] as text, or "" when absent or not a string.
  std::string_view Str(std::string_view key) const;
  // data[key] as an integer, or nullopt when absent or not an integer.
  std::optional<int64_t> Int(std::string_view key) const;
  // True when data.request_id equals `request_id`.
  bool AnswersRequest(std::string_view request_id) const;
  // True for a command_rejected that answers `request_id`, or that carries no usable request_id
  // (the router could not read it): rejections go only to the requester, and a client has one
  // command outstanding, so it is the answer.
  bool RejectsRequest(std::string_view request_id) const;
};

// Parses one line. Returns nullopt when it is not a JSON object with "type":"event" and a string
// "event" (such lines are skipped by the client).
std::optional<Event> ParseEvent(std::string_view line);

// Lenient readers for nested objects of an event's data.
std::string_view StrField(const boost::json::object& object, std::string_view key);
std::optional<int64_t> IntField(const boost::json::object& object, std::string_view key);

}  // namespace codeswarm::cli
