#include "worker/codex/codex_turn_mapper.h"

#include <algorithm>

#include "worker/answer_text.h"
#include "worker/codex/codex_protocol.h"

namespace codeswarm::worker::codex {
namespace json = boost::json;

namespace {


TokenUsage UsageFromBreakdown(const json::object& b) {
  TokenUsage u;
  u.input_tokens = IntAt(b, "inputTokens");
  u.cached_input_tokens = IntAt(b, "cachedInputTokens");
  u.output_tokens = IntAt(b, "outputTokens");
  u.reasoning_output_tokens = IntAt(b, "reasoningOutputTokens");
  u.total_tokens = IntAt(b, "totalTokens");
  return u;
}

// "a, b" from a list of objects' `key` strings.
std::string JoinField(const json::object& object, std::string_view list_key, std::string_view key) {
  std::string out;
  const json::value* list = object.if_contains(list_key);
  if (list == nullptr || !list->is_array()) return out;
  for (const json::value& entry : list->get_array()) {
    if (!entry.is_object()) continue;
    std::string_view value = StringAt(entry.get_object(), key);
    if (value.empty()) continue;
    if (!out.empty()) out += ", ";
    out += value;
  }
  return out;
}

// A codex error object ({"message", "codexErrorInfo", ...}) for a person: the message, plus
// codex's classification when the message does not already say it (codex replaces a 5xx
// answer's body with a generic message; its classification at least names the kind).
std::string DescribeError(const json::object& error) {
  std::string message(StringAt(error, "message"));
  std::string detail;
  const json::value* info = error.if_contains("codexErrorInfo");
  if (info != nullptr && info->is_string() && info->get_string() != "other") {
    detail = std::string(info->get_string());
  } else if (info != nullptr && info->is_object() && !info->get_object().empty()) {
    const auto& [kind, value] = *info->get_object().begin();
    int64_t status = value.is_object() ? IntAt(value.get_object(), "httpStatusCode") : 0;
    if (status == 0) {
      detail = std::string(kind);
    } else if (message.find(std::to_string(status)) == std::string::npos) {
      detail = "HTTP " + std::to_string(status);
    }
  }
  if (message.empty()) return detail;
  return detail.empty() ? message : message + " (" + detail + ")";
}

}  // namespace

TokenUsage UsageGrowth(const TokenUsage& start, const TokenUsage& total) {
  auto grow = [](int64_t a, int64_t b) { return std::max<int64_t>(0, b - a); };
  TokenUsage u;
  u.input_tokens = grow(start.input_tokens, total.input_tokens);
  u.cached_input_tokens = grow(start.cached_input_tokens, total.cached_input_tokens);
  u.output_tokens = grow(start.output_tokens, total.output_tokens);
  u.reasoning_output_tokens = grow(start.reasoning_output_tokens, total.reasoning_output_tokens);
  u.total_tokens = grow(start.total_tokens, total.total_tokens);
  return u;
}

CodexTurnMapper::CodexTurnMapper(TurnSink& sink, std::string decision, TokenUsage* thread_usage)
    : sink_(sink),
      decision_(std::move(decision)),
      thread_usage_(thread_usage),
      usage_at_start_(*thread_usage) {}

void CodexTurnMapper::SetTurnId(std::string_view turn_id) {
  if (turn_id_.empty()) turn_id_ = std::string(turn_id);
}

bool CodexTurnMapper::OfOtherTurn(const json::object& params) const {
  std::string_view turn = StringAt(params, "turnId");
  return !turn_id_.empty() && !turn.empty() && turn != turn_id_;
}

void CodexTurnMapper::OnNotification(std::string_view method, const json::object& params) {
  if (finished()) return;
  if (method == "thread/tokenUsage/updated") return OnTokenUsage(params);
  if (method == "turn/started") {
    SetTurnId(StringAt(ObjectAt(params, "turn"), "id"));
    return;
  }
  if (method == "turn/completed") {
    const json::object& turn = ObjectAt(params, "turn");
    std::string_view id = StringAt(turn, "id");
    if (!turn_id_.empty() && !id.empty() && id != turn_id_) return;
    return OnTurnCompleted(turn);
  }
  if (OfOtherTurn(params)) return;
  if (method == "item/agentMessage/delta") {
    StreamText(std::string(StringAt(params, "itemId")), StringAt(params, "delta"));
  } else if (method == "item/started") {
    OnItemStarted(ObjectAt(params, "item"));
  } else if (method == "item/completed") {
    OnItemCompleted(ObjectAt(params, "item"));
  } else if (method == "error") {
    const json::value* retry = params.if_contains("willRetry");
    if (retry != nullptr && retry->is_bool() && retry->get_bool()) return;
    std::string message = DescribeError(ObjectAt(params, "error"));
    if (!message.empty()) last_error_ = std::move(message);
  }
}

void CodexTurnMapper::StreamText(const std::string& item_id, std::string_view text) {
  if (text.empty()) return;
  if (item_id != streaming_item_) {
    if (streamed_text_) sink_.Delta(kAnswerPieceSeparator);
    streaming_item_ = item_id;
    streamed_items_.insert(item_id);
  }
  sink_.Delta(text);
  streamed_text_ = true;
}

void CodexTurnMapper::OnItemStarted(const json::object& item) {
  if (StringAt(item, "type") != "fileChange") return;
  file_changes_[std::string(StringAt(item, "id"))] = JoinField(item, "changes", "path");
}

void CodexTurnMapper::OnItemCompleted(const json::object& item) {
  if (StringAt(item, "type") != "agentMessage") return;
  std::string id(StringAt(item, "id"));
  std::string text(StringAt(item, "text"));
  if (text.empty()) return;
  // A message that arrived whole (no deltas) is streamed now, so the deltas add up to the text.
  if (!streamed_items_.contains(id)) StreamText(id, text);
  messages_.push_back(std::move(text));
}

void CodexTurnMapper::OnTokenUsage(const json::object& params) {
  const json::object& usage = ObjectAt(params, "tokenUsage");
  if (!usage.contains("total")) return;
  *thread_usage_ = UsageFromBreakdown(ObjectAt(usage, "total"));
  if (!OfOtherTurn(params)) usage_seen_ = true;
}

void CodexTurnMapper::OnTurnCompleted(const json::object& turn) {
  if (!messages_.empty()) sink_.Message(JoinAnswerPieces(messages_));
  if (usage_seen_) sink_.Usage(UsageGrowth(usage_at_start_, *thread_usage_));

  std::string_view status = StringAt(turn, "status");
  if (status == "completed") {
    outcome_ = TurnOutcome::Completed();
  } else if (status == "interrupted") {
    outcome_ = TurnOutcome::Interrupted("interrupted");
  } else {
    std::string error = DescribeError(ObjectAt(turn, "error"));
    if (error.empty()) error = last_error_;
    if (error.empty()) {
      error = status == "failed" ? "codex reported the turn as failed"
                                 : "codex ended the turn with status \"" + std::string(status) + "\"";
    }
    outcome_ = TurnOutcome::Failed(std::move(error));
  }
}

ServerRequestAnswer CodexTurnMapper::OnServerRequest(std::string_view method,
                                                     const json::object& params) {
  ServerRequestAnswer answer;
  if (method == "item/commandExecution/requestApproval") {
    std::string command(StringAt(params, "command"));
    if (command.empty()) command = JoinField(params, "commandActions", "command");
    if (command.empty()) command = "(command not given)";
    answer.result = {{"decision", sink_.Approval("command", command, decision_)}};
  } else if (method == "item/fileChange/requestApproval") {
    std::string files;
    auto known = file_changes_.find(std::string(StringAt(params, "itemId")));
    if (known != file_changes_.end()) files = known->second;
    if (files.empty() && !StringAt(params, "grantRoot").empty()) {
      files = "write access under " + std::string(StringAt(params, "grantRoot"));
    }
    if (files.empty()) files = "(files not given)";
    answer.result = {{"decision", sink_.Approval("file_change", files, decision_)}};
  } else {
    sink_.Approval("tool", method, "decline");
    answer.error_code = -32601;
    answer.error_message = "codeswarm does not handle " + std::string(method);
  }
  return answer;
}

}  // namespace codeswarm::worker::codex
