#include "worker/claude/claude_protocol.h"

#include <boost/json.hpp>

#include "common/text.h"

namespace codeswarm::worker::claude {
namespace json = boost::json;

namespace {

constexpr std::size_t kSubjectMaxBytes = 200;

// The input fields that say best what a tool is about to do, in order of preference.
constexpr std::string_view kSummaryFields[] = {"command", "file_path", "notebook_path", "path",
                                               "url",     "pattern",   "query",         "prompt",
                                               "description"};

std::string ControlResponseLine(json::object response) {
  return json::serialize(json::object{{"type", "control_response"}, {"response", std::move(response)}});
}

}  // namespace

std::string UserMessageLine(std::string_view prompt) {
  json::object text{{"type", "text"}, {"text", prompt}};
  json::object message{{"role", "user"}, {"content", json::array{std::move(text)}}};
  return json::serialize(json::object{{"type", "user"}, {"message", std::move(message)}});
}

std::string ControlRequestLine(std::string_view request_id, std::string_view subtype) {
  return json::serialize(json::object{{"type", "control_request"},
                                      {"request_id", request_id},
                                      {"request", json::object{{"subtype", subtype}}}});
}

std::string PermissionAnswerLine(std::string_view request_id, bool allow,
                                 const json::value& input, std::string_view deny_message) {
  json::object decision;
  if (allow) {
    decision = {{"behavior", "allow"}, {"updatedInput", input.is_object() ? input : json::object{}}};
  } else {
    decision = {{"behavior", "deny"}, {"message", deny_message}};
  }
  return ControlResponseLine(
      {{"subtype", "success"}, {"request_id", request_id}, {"response", std::move(decision)}});
}

std::string ControlErrorLine(std::string_view request_id, std::string_view error) {
  return ControlResponseLine({{"subtype", "error"}, {"request_id", request_id}, {"error", error}});
}

std::string ToolSubject(std::string_view tool_name, const json::value& input) {
  std::string subject(tool_name.empty() ? "(unnamed tool)" : tool_name);
  std::string summary;
  if (const json::object* fields = input.if_object()) {
    for (std::string_view key : kSummaryFields) {
      std::string_view value = StringAt(*fields, key);
      if (!value.empty()) {
        summary = value;
        break;
      }
    }
    if (summary.empty() && !fields->empty()) summary = json::serialize(*fields);
  }
  if (!summary.empty()) subject += ": " + summary;
  for (char& c : subject) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return Ellipsize(subject, kSubjectMaxBytes);
}

TokenUsage UsageFromResult(const json::object& usage) {
  int64_t cached = IntAt(usage, "cache_read_input_tokens") + IntAt(usage, "cache_creation_input_tokens");
  TokenUsage out;
  out.input_tokens = IntAt(usage, "input_tokens") + cached;
  out.cached_input_tokens = cached;
  out.output_tokens = IntAt(usage, "output_tokens");
  out.reasoning_output_tokens = IntAt(ObjectAt(usage, "output_tokens_details"), "thinking_tokens");
  out.total_tokens = out.input_tokens + out.output_tokens;
  return out;
}

}  // namespace codeswarm::worker::claude
