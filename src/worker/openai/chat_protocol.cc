#include "worker/openai/chat_protocol.h"

#include <boost/json.hpp>

#include "common/text.h"
#include "worker/json_fields.h"

namespace codeswarm::worker::openai {
namespace json = boost::json;

namespace {

// The object at `key`, or null when there is none (absent and empty differ here).
const json::object* FindObject(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

TokenUsage UsageFrom(const json::object& u) {
  TokenUsage usage;
  usage.input_tokens = IntAt(u, "prompt_tokens");
  usage.output_tokens = IntAt(u, "completion_tokens");
  usage.total_tokens = IntAt(u, "total_tokens");
  if (const json::object* details = FindObject(u, "prompt_tokens_details")) {
    usage.cached_input_tokens = IntAt(*details, "cached_tokens");
  }
  if (const json::object* details = FindObject(u, "completion_tokens_details")) {
    usage.reasoning_output_tokens = IntAt(*details, "reasoning_tokens");
  }
  if (usage.total_tokens == 0) usage.total_tokens = usage.input_tokens + usage.output_tokens;
  return usage;
}

// The message of an error value: a string, or an object's "message" / "msg".
std::string MessageOf(const json::value& error) {
  if (error.is_string()) return std::string(error.get_string());
  if (error.is_object()) {
    for (std::string_view key : {"message", "msg"}) {
      const json::value* m = error.get_object().if_contains(key);
      if (m != nullptr && m->is_string() && !m->get_string().empty()) {
        return std::string(m->get_string());
      }
    }
  }
  if (error.is_array()) {  // FastAPI validation errors: [{"loc", "msg", ...}]
    std::string out;
    for (const json::value& e : error.get_array()) {
      std::string m = MessageOf(e);
      if (m.empty()) continue;
      if (!out.empty()) out += "; ";
      out += m;
    }
    return out;
  }
  return "";
}

}  // namespace

std::string ChatRequestBody(const OpenAiAgentSettings& settings,
                            const std::vector<ChatMessage>& messages) {
  json::array list;
  list.reserve(messages.size());
  for (const ChatMessage& m : messages) {
    list.push_back(json::object{{"role", m.role}, {"content", m.content}});
  }
  json::object body{{"model", settings.model},
                    {"messages", std::move(list)},
                    {"stream", true},
                    {"stream_options", {{"include_usage", true}}}};
  if (settings.temperature >= 0) body["temperature"] = settings.temperature;
  if (settings.max_tokens > 0) body["max_tokens"] = settings.max_tokens;
  return json::serialize(body);
}

Status ChatStreamReader::OnData(std::string_view data) {
  if (TrimWhitespace(data) == "[DONE]") {
    done_ = true;
    return Status::Ok();
  }
  json::error_code ec;
  json::value v = json::parse(data, ec);
  if (ec || !v.is_object()) {
    return Status::IoError("the server sent a stream event that is not a JSON object: " +
                           Ellipsize(data, 200));
  }
  const json::object& chunk = v.get_object();
  if (const json::value* error = chunk.if_contains("error"); error != nullptr && !error->is_null()) {
    std::string message = MessageOf(*error);
    return Status::IoError("the server reported an error mid-stream: " +
                           (message.empty() ? json::serialize(*error) : message));
  }
  if (const json::object* usage = FindObject(chunk, "usage")) usage_ = UsageFrom(*usage);
  const json::value* choices = chunk.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->get_array().empty()) {
    return Status::Ok();
  }
  const json::value& choice = choices->get_array().front();
  if (!choice.is_object()) return Status::Ok();
  if (const json::object* delta = FindObject(choice.get_object(), "delta")) {
    const json::value* content = delta->if_contains("content");
    if (content != nullptr && content->is_string() && !content->get_string().empty()) {
      std::string_view piece = content->get_string();
      text_.append(piece);
      sink_.Delta(piece);
    }
  }
  const json::value* finish = choice.get_object().if_contains("finish_reason");
  if (finish != nullptr && finish->is_string()) finish_reason_ = std::string(finish->get_string());
  return Status::Ok();
}

std::string ErrorMessageFromBody(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    for (std::string_view key : {"error", "detail", "message"}) {
      const json::value* field = v.get_object().if_contains(key);
      if (field == nullptr) continue;
      std::string message = MessageOf(*field);
      if (!message.empty()) return Ellipsize(message, 1000);
    }
  }
  std::string_view trimmed = TrimWhitespace(body);
  return trimmed.empty() ? "(empty body)" : Ellipsize(trimmed, 300);
}

}  // namespace codeswarm::worker::openai
