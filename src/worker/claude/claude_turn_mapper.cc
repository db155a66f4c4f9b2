#include "worker/claude/claude_turn_mapper.h"

#include <boost/json.hpp>

#include "common/text.h"
#include "worker/answer_text.h"
#include "worker/claude/claude_protocol.h"

namespace codeswarm::worker::claude {
namespace json = boost::json;

namespace {

constexpr std::string_view kDenyMessage = "denied by the Codeswarm approval policy";

bool OfSubagent(const json::object& message) { return HasValue(message, "parent_tool_use_id"); }

}  // namespace

ClaudeTurnMapper::ClaudeTurnMapper(TurnSink& sink, std::string decision)
    : sink_(sink), decision_(std::move(decision)) {}

std::optional<std::string> ClaudeTurnMapper::OnMessage(const json::object& message) {
  std::string_view type = StringAt(message, "type");
  if (type == "stream_event") {
    OnStreamEvent(message);
  } else if (type == "assistant") {
    OnAssistant(message);
  } else if (type == "control_request") {
    return OnControlRequest(message);
  } else if (type == "result") {
    OnResult(message);
  }
  return std::nullopt;
}

void ClaudeTurnMapper::StreamText(const std::string& block, std::string_view text) {
  if (text.empty()) return;
  if (block != streaming_block_ && streamed_text_) sink_.Delta(kAnswerPieceSeparator);
  streaming_block_ = block;
  streamed_text_ = true;
  sink_.Delta(text);
}

void ClaudeTurnMapper::OnStreamEvent(const json::object& message) {
  if (OfSubagent(message)) return;
  const json::object& event = ObjectAt(message, "event");
  std::string_view event_type = StringAt(event, "type");
  if (event_type == "message_start") {
    streaming_message_ = StringAt(ObjectAt(event, "message"), "id");
    return;
  }
  std::string message_id(StringAt(message, "api_message_id"));
  if (message_id.empty()) message_id = streaming_message_;
  std::string block = message_id + "#" + std::to_string(IntAt(event, "index"));
  std::string_view text;
  if (event_type == "content_block_start") {
    const json::object& content = ObjectAt(event, "content_block");
    if (StringAt(content, "type") == "text") text = StringAt(content, "text");
  } else if (event_type == "content_block_delta") {
    const json::object& delta = ObjectAt(event, "delta");
    if (StringAt(delta, "type") == "text_delta") text = StringAt(delta, "text");
  }
  if (text.empty()) return;
  streamed_messages_.insert(message_id);
  StreamText(block, text);
}

void ClaudeTurnMapper::OnAssistant(const json::object& message) {
  if (OfSubagent(message)) return;
  const json::object& body = ObjectAt(message, "message");
  if (message.contains("is_api_error_message") || StringAt(body, "model") == "<synthetic>") return;
  std::string id(StringAt(body, "id"));
  bool streamed = streamed_messages_.count(id) > 0;
  const json::value* content = body.if_contains("content");
  if (content == nullptr || !content->is_array()) return;
  int index = 0;
  for (const json::value& block : content->get_array()) {
    const json::object* part = block.if_object();
    if (part == nullptr || StringAt(*part, "type") != "text") continue;
    std::string_view text = StringAt(*part, "text");
    if (text.empty()) continue;
    texts_.emplace_back(text);
    if (!streamed) StreamText(id + "#assistant" + std::to_string(index++), text);
  }
}

std::optional<std::string> ClaudeTurnMapper::OnControlRequest(const json::object& message) {
  std::string_view request_id = StringAt(message, "request_id");
  const json::object& request = ObjectAt(message, "request");
  std::string_view subtype = StringAt(request, "subtype");
  if (subtype != "can_use_tool") {
    return ControlErrorLine(request_id, "Codeswarm does not handle control requests of subtype \"" +
                                            std::string(subtype) + "\"");
  }
  static const json::value kNoInput = json::object{};
  const json::value* input = request.if_contains("input");
  if (input == nullptr) input = &kNoInput;
  const bool allow =
      sink_.Approval("tool", ToolSubject(StringAt(request, "tool_name"), *input), decision_) ==
      "accept";
  return PermissionAnswerLine(request_id, allow, *input, kDenyMessage);
}

void ClaudeTurnMapper::OnResult(const json::object& message) {
  if (!texts_.empty()) sink_.Message(JoinAnswerPieces(texts_));
  if (const json::value* usage = message.if_contains("usage"); usage && usage->is_object()) {
    sink_.Usage(UsageFromResult(usage->get_object()));
  }
  // 2.1.331 reports API errors as subtype "success" with is_error true.
  const json::value* is_error = message.if_contains("is_error");
  bool success = StringAt(message, "subtype") == "success" &&
                 !(is_error != nullptr && is_error->is_bool() && is_error->get_bool());
  if (success) {
    outcome_ = TurnOutcome::Completed();
  } else if (interrupt_requested_) {
    outcome_ = TurnOutcome::Interrupted("interrupted");
  } else {
    outcome_ = TurnOutcome::Failed(ResultError(message));
  }
}

std::string ResultError(const json::object& result) {
  std::string error(StringAt(result, "result"));
  if (error.empty()) {
    if (const json::value* errors = result.if_contains("errors"); errors && errors->is_array()) {
      for (const json::value& e : errors->get_array()) {
        if (!e.is_string() || e.get_string().empty()) continue;
        if (!error.empty()) error += "; ";
        error += e.get_string();
      }
    }
  }
  if (error.empty()) {
    std::string_view subtype = StringAt(result, "subtype");
    error = "claude ended the turn with \"" + std::string(subtype.empty() ? "no subtype" : subtype) + "\"";
  }
  int64_t status = IntAt(result, "api_error_status");
  if (status > 0 && error.find(std::to_string(status)) == std::string::npos) {
    error += " (HTTP " + std::to_string(status) + ")";
  }
  return Ellipsize(error, 2000);
}

}  // namespace codeswarm::worker::claude
