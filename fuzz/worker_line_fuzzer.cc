// Fuzzes what the router and the worker run on every line the other side sends: SplitWorkerLine,
// then each body parser (ParseEventBody, ParseHello, ParseWelcome, ParseInject, ParseStringField,
// ParseSeqField) on the body, whatever the verb, so every input exercises all of them.
// Invariants beyond "no crash":
//  - the split is lossless: verb (non-empty, no space) + " " + body is the line;
//  - an accepted event has seq in 1..INT64_MAX, a wire-token injection id, a runtime event name
//    and data that is one JSON object; formatted again it parses to the same event; and the
//    client line the router splices it into is one JSON object whose data carries the router's
//    ids, not ones the worker put in its data;
//  - an accepted hello / welcome / inject / field respects its ranges and survives being
//    formatted and parsed again unchanged.
#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/text.h"
#include "fuzz_check.h"
#include "protocol/event_line.h"
#include "protocol/worker_protocol.h"
#include "same_json.h"

namespace {

namespace json = boost::json;
namespace protocol = codeswarm::protocol;

bool IsValidUtf8(std::string_view text) { return !codeswarm::FindInvalidUtf8(text).has_value(); }

// The body of a line FormatMessage produced, checked to split back under `verb`.
std::string_view BodyOf(std::string_view formatted, std::string_view verb) {
  FUZZ_CHECK(!formatted.empty() && formatted.back() == '\n', "formatted line without newline");
  formatted.remove_suffix(1);
  FUZZ_CHECK(formatted.find('\n') == std::string_view::npos, "formatted line with a newline");
  auto split = protocol::SplitWorkerLine(formatted);
  FUZZ_CHECK(split.ok() && split->verb == verb, "formatted line does not split back");
  return split->body;
}

void CheckEvent(std::string_view body) {
  auto event = protocol::ParseEventBody(body);
  if (!event.ok()) return;
  FUZZ_CHECK(event->seq >= 1 && event->seq <= static_cast<uint64_t>(INT64_MAX), "seq range");
  FUZZ_CHECK(protocol::IsWireToken(event->injection_id), "bad injection id accepted");
  FUZZ_CHECK(protocol::IsRuntimeEventName(event->event), "unknown event accepted");
  json::error_code ec;
  json::value data = json::parse(event->data, ec);
  FUZZ_CHECK(!ec && data.is_object(), "event data is not one JSON object");

  const std::string formatted =
      protocol::FormatEventMessage(event->seq, event->injection_id, event->event, event->data);
  auto again = protocol::ParseEventBody(BodyOf(formatted, "event"));
  FUZZ_CHECK(again.ok(), "formatted event is rejected");
  FUZZ_CHECK(again->seq == event->seq && again->injection_id == event->injection_id &&
                 again->event == event->event && again->data == event->data,
             "formatted event parses differently");

  // What the router sends its clients for this event (RouterCore::HandleEvent).
  std::string line;
  protocol::AppendRuntimeEventLine(line, 7, "2026-01-01T00:00:00.000Z", event->event,
                                   R"("swarm_id":"s-1","job_id":"j-1","node_id":3)",
                                   event->injection_id, event->data);
  FUZZ_CHECK(!line.empty() && line.back() == '\n', "client line without newline");
  line.pop_back();
  json::value envelope = json::parse(line, ec);
  FUZZ_CHECK(!ec && envelope.is_object(), "client event line is not a JSON object");
  const json::value* spliced = envelope.as_object().if_contains("data");
  FUZZ_CHECK(spliced != nullptr && spliced->is_object(), "client event without data object");
  const json::object& fields = spliced->as_object();
  auto is = [&](std::string_view key, const json::value& want) {
    const json::value* v = fields.if_contains(key);
    return v != nullptr && codeswarm::fuzz::SameJson(*v, want);
  };
  FUZZ_CHECK(is("swarm_id", "s-1") && is("job_id", "j-1") && is("node_id", 3) &&
                 is("injection_id", json::string(event->injection_id)),
             "worker data overrides the router's ids in the client event");
  for (const auto& [key, value] : data.as_object()) {
    FUZZ_CHECK(key != "swarm_id" && key != "job_id" && key != "node_id" && key != "injection_id",
               "accepted event data that names the router's ids (clients would see two)");
    FUZZ_CHECK(is(key, value), "client event loses a field of the worker's data");
  }
}

void CheckHello(std::string_view body) {
  auto hello = protocol::ParseHello(body);
  if (!hello.ok()) return;
  FUZZ_CHECK(!hello->swarm_id.empty() && !hello->instance.empty(), "empty hello id");
  FUZZ_CHECK(hello->node_id >= 0 && hello->node_id <= 1000000, "hello node_id range");
  FUZZ_CHECK(hello->pid >= 0, "hello pid range");
  for (const std::string& id : hello->holding) {
    FUZZ_CHECK(protocol::IsWireToken(id), "hello holds a bad injection id");
  }
  const std::string formatted = protocol::FormatMessage("hello", protocol::HelloToJson(*hello));
  auto again = protocol::ParseHello(BodyOf(formatted, "hello"));
  FUZZ_CHECK(again.ok(), "formatted hello is rejected");
  FUZZ_CHECK(again->swarm_id == hello->swarm_id && again->node_id == hello->node_id &&
                 again->instance == hello->instance && again->pid == hello->pid &&
                 again->hostname == hello->hostname && again->version == hello->version &&
                 again->holding == hello->holding,
             "formatted hello parses differently");
}

void CheckWelcome(std::string_view body) {
  auto welcome = protocol::ParseWelcome(body);
  if (!welcome.ok()) return;
  FUZZ_CHECK(welcome->ack_seq <= static_cast<uint64_t>(INT64_MAX), "ack_seq range");
  FUZZ_CHECK(welcome->heartbeat_seconds >= 0.01 && welcome->heartbeat_seconds <= 86400,
             "heartbeat range");
  FUZZ_CHECK(welcome->timeout_seconds >= 0.02 && welcome->timeout_seconds <= 86400,
             "timeout range");
  json::error_code ec;
  json::value agent = json::parse(welcome->agent_json, ec);
  FUZZ_CHECK(!ec && agent.is_object(), "welcome agent is not a JSON object");
  const std::string formatted =
      protocol::FormatMessage("welcome", protocol::WelcomeToJson(*welcome));
  auto again = protocol::ParseWelcome(BodyOf(formatted, "welcome"));
  FUZZ_CHECK(again.ok(), "formatted welcome is rejected");
  FUZZ_CHECK(
      again->ack_seq == welcome->ack_seq && again->system_prompt == welcome->system_prompt &&
          codeswarm::fuzz::SameJsonText(again->agent_json, welcome->agent_json) &&
          codeswarm::fuzz::SameNumber(again->heartbeat_seconds, welcome->heartbeat_seconds) &&
          codeswarm::fuzz::SameNumber(again->timeout_seconds, welcome->timeout_seconds),
      "formatted welcome parses differently");
}

void CheckInject(std::string_view body) {
  auto inject = protocol::ParseInject(body);
  if (!inject.ok()) return;
  FUZZ_CHECK(protocol::IsWireToken(inject->injection_id), "bad injection id accepted");
  FUZZ_CHECK(IsValidUtf8(inject->content), "inject content is not valid UTF-8");
  const std::string formatted = protocol::FormatMessage(
      "inject", json::object{{"injection_id", inject->injection_id}, {"content", inject->content}});
  auto again = protocol::ParseInject(BodyOf(formatted, "inject"));
  FUZZ_CHECK(again.ok() && again->injection_id == inject->injection_id &&
                 again->content == inject->content,
             "formatted inject parses differently");
}

void CheckFields(std::string_view body) {
  for (std::string_view key : {"reason", "injection_id"}) {
    auto value = protocol::ParseStringField(body, key);
    if (!value.ok()) continue;
    FUZZ_CHECK(IsValidUtf8(*value), "string field is not valid UTF-8");
    const std::string formatted = protocol::FormatMessage("bye", json::object{{key, *value}});
    auto again = protocol::ParseStringField(BodyOf(formatted, "bye"), key);
    FUZZ_CHECK(again.ok() && *again == *value, "formatted string field parses differently");
  }
  for (std::string_view key : {"seq", "ack_seq"}) {
    auto seq = protocol::ParseSeqField(body, key);
    if (!seq.ok()) continue;
    FUZZ_CHECK(*seq <= static_cast<uint64_t>(INT64_MAX), "seq field range");
    const std::string formatted = protocol::FormatMessage("ack", json::object{{key, *seq}});
    auto again = protocol::ParseSeqField(BodyOf(formatted, "ack"), key);
    FUZZ_CHECK(again.ok() && *again == *seq, "formatted seq field parses differently");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  // Lines come from the LineFramer, which never yields one with a newline inside.
  if (line.find('\n') != std::string_view::npos) return 0;
  auto split = protocol::SplitWorkerLine(line);
  if (!split.ok()) return 0;
  FUZZ_CHECK(!split->verb.empty() && split->verb.find(' ') == std::string_view::npos,
             "verb empty or with a space");
  FUZZ_CHECK(split->verb.size() + 1 + split->body.size() == line.size() &&
                 line.substr(0, split->verb.size()) == split->verb &&
                 line.substr(split->verb.size() + 1) == split->body,
             "split loses or adds bytes");
  CheckEvent(split->body);
  CheckHello(split->body);
  CheckWelcome(split->body);
  CheckInject(split->body);
  CheckFields(split->body);
  return 0;
}
