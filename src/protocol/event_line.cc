#include "protocol/event_line.h"

#include <charconv>
#include <string>

#include "protocol/client_protocol.h"

namespace codeswarm::protocol {

namespace {

constexpr std::string_view kHead = R"({"protocol":")";
constexpr std::string_view kType = R"(","type":"event")";
constexpr std::string_view kSeq = R"(,"seq":)";
constexpr std::string_view kTimestamp = R"(,"timestamp":")";
constexpr std::string_view kEvent = R"(","event":")";
constexpr std::string_view kData = R"(","data":)";
constexpr std::string_view kTail = "}\n";

// Takes `literal` off the front of `rest`; false when `rest` does not start with it.
bool Consume(std::string_view& rest, std::string_view literal) {
  if (!rest.starts_with(literal)) return false;
  rest.remove_prefix(literal.size());
  return true;
}

void AppendHeader(std::string& out, std::optional<uint64_t> seq, std::string_view timestamp,
                  std::string_view event) {
  out += kHead;
  out += kClientProtocol;
  out += kType;
  if (seq) {
    out += kSeq;
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, *seq);
    out.append(digits, end);
  }
  out += kTimestamp;
  out += timestamp;
  out += kEvent;
  out += event;
  out += kData;
}

}  // namespace

bool IsWireToken(std::string_view token) {
  if (token.empty()) return false;
  for (char c : token) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<EventLineParts> SplitEventLine(std::string_view line) {
  // The journal splits every line it writes: the fixed head is compared in one go.
  static const std::string head =
      std::string(kHead) + std::string(kClientProtocol) + std::string(kType) + std::string(kSeq);
  std::string_view rest = line;
  if (!Consume(rest, head)) return std::nullopt;
  EventLineParts parts;
  // Only the digits to_chars writes: no sign, no leading zero (but "0" itself).
  auto [digits_end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), parts.seq);
  const std::size_t digits = static_cast<std::size_t>(digits_end - rest.data());
  if (ec != std::errc() || (rest[0] == '0' && digits > 1)) return std::nullopt;
  rest.remove_prefix(digits);
  // The timestamp and the event end at the first quote, which is where the next literal starts.
  if (!Consume(rest, kTimestamp)) return std::nullopt;
  parts.timestamp = rest.substr(0, rest.find('"'));
  rest.remove_prefix(parts.timestamp.size());
  if (!Consume(rest, kEvent)) return std::nullopt;
  parts.event = rest.substr(0, rest.find('"'));
  rest.remove_prefix(parts.event.size());
  if (!Consume(rest, kData) || !rest.ends_with(kTail)) return std::nullopt;
  parts.data = rest.substr(0, rest.size() - kTail.size());
  return parts;
}

void AppendEventLine(std::string& out, std::optional<uint64_t> seq, std::string_view timestamp,
                     std::string_view event, std::string_view data_json) {
  AppendHeader(out, seq, timestamp, event);
  out += data_json;
  out += kTail;
}

void AppendRuntimeEventLine(std::string& out, uint64_t seq, std::string_view timestamp,
                            std::string_view event, std::string_view ids_json_fields,
                            std::string_view injection_id, std::string_view worker_data) {
  AppendHeader(out, seq, timestamp, event);
  out += '{';
  out += ids_json_fields;
  out += R"(,"injection_id":")";
  out += injection_id;
  out += '"';
  // worker_data is "{...}": its fields follow ours unless it is empty.
  std::size_t open = worker_data.find('{');
  std::string_view fields = worker_data.substr(open + 1);
  std::size_t first = fields.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && fields[first] != '}') out += ',';
  out += fields;
  out += "}\n";
}

}  // namespace codeswarm::protocol
