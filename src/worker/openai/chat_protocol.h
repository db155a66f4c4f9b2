// The OpenAI Chat Completions API as the openai agent speaks it, without I/O: the request body,
// the streamed answer (SSE data chunks) mapped onto a TurnSink, and error bodies turned into a
// message a person can act on. Works with OpenAI, vLLM, llama.cpp's server and Ollama.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/agent.h"
#include "worker/agent_settings.h"

namespace codeswarm::worker::openai {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

// {"model", "messages", "stream": true, "stream_options": {"include_usage": true}} plus
// "temperature" and "max_tokens" when set.
std::string ChatRequestBody(const OpenAiAgentSettings& settings,
                            const std::vector<ChatMessage>& messages);

// Reads one streamed answer, one SSE data payload at a time: content deltas go to the sink as
// they come; the text and the usage (the final chunk, sent because of include_usage) are kept.
// Reasoning deltas (`reasoning_content`, vLLM) are not part of the answer and are dropped.
class ChatStreamReader {
 public:
  explicit ChatStreamReader(TurnSink& sink) : sink_(sink) {}

  // An error when the payload is an error object (a server failing mid-stream) or not JSON.
  Status OnData(std::string_view data);

  // The stream said it is over: "[DONE]", or a finish_reason (some servers end without [DONE]).
  bool complete() const { return done_ || !finish_reason_.empty(); }
  // Whether any answer text was passed to the sink (a retry would then repeat it).
  bool streamed() const { return !text_.empty(); }
  const std::string& text() const { return text_; }
  const std::optional<TokenUsage>& usage() const { return usage_; }
  const std::string& finish_reason() const { return finish_reason_; }

 private:
  TurnSink& sink_;
  std::string text_;
  std::optional<TokenUsage> usage_;
  std::string finish_reason_;
  bool done_ = false;
};

// The message in an HTTP error body: OpenAI's {"error": {"message"}}, {"error": "..."},
// FastAPI's {"detail": ...} (vLLM), {"message": ...}; else the body itself, trimmed and cut.
std::string ErrorMessageFromBody(std::string_view body);

}  // namespace codeswarm::worker::openai
