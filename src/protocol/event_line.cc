#include "protocol/event_line.h"

#include <charconv>

#include "protocol/client_protocol.h"

namespace codeswarm::protocol {

namespace {

void AppendHeader(std::string& out, std::optional<uint64_t> seq, std::string_view timestamp,
                  std::string_view event) {
  out += R"({"protocol":")";
  out += kClientProtocol;
  out += R"(","type":"event")";
  if (seq) {
    out += R"(,"seq":)";
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, *seq);
    out.append(digits, end);
  }
  out += R"(,"timestamp":")";
  out += timestamp;
  out += R"(","event":")";
  out += event;
  out += R"(","data":)";
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

void AppendEventLine(std::string& out, std::optional<uint64_t> seq, std::string_view timestamp,
                     std::string_view event, std::string_view data_json) {
  AppendHeader(out, seq, timestamp, event);
  out += data_json;
  out += "}\n";
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
