// The openai agent: a model behind any OpenAI-compatible Chat Completions endpoint (OpenAI,
// vLLM, llama.cpp's server, Ollama), streamed over HTTP(S) with http_stream.h (Boost.Beast).
//
// The conversation lives here, per node: the system prompt, then each completed turn's user
// prompt and answer. A turn that fails or is interrupted leaves no trace in it (neither its
// prompt nor its partial answer), so the next turn is sent as if it had never been asked.
// Retries follow RetryPolicy; the API key is read once at Start from the environment variable
// the settings name and only ever goes into the Authorization header.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "worker/agent_settings.h"
#include "common/clock.h"
#include "worker/agent.h"
#include "worker/openai/chat_protocol.h"
#include "worker/openai/http_stream.h"
#include "worker/openai/retry_policy.h"

namespace codeswarm::worker::openai {

class OpenAiAgent : public Agent {
 public:
  // `policy` is for tests; by default max_retries comes from the settings. Retry delays and the
  // stream's idle timeout are measured on `clock`, which must outlive the agent.
  explicit OpenAiAgent(OpenAiAgentSettings settings, std::optional<RetryPolicy> policy = {},
                       const Clock& clock = SystemClock::Get());

  Status Start(const AgentContext& context) override;
  TurnOutcome RunTurn(const TurnRequest& turn, TurnSink& sink) override;
  void Interrupt() override;

  // <base_url>/chat/completions (one slash between them).
  static std::string EndpointUrl(std::string_view base_url);

 private:
  // Describes a failed attempt for the turn's error.
  std::string Describe(const HttpStreamClient::Response& response, const std::string& error_body,
                       bool streamed) const;

  const OpenAiAgentSettings settings_;
  const RetryPolicy policy_;
  const Clock& clock_;
  std::string url_;
  std::vector<std::string> headers_;  // with the Authorization header: never logged
  bool have_api_key_ = false;
  std::vector<ChatMessage> history_;
  std::unique_ptr<HttpStreamClient> client_;  // set by Start, used by Interrupt
  std::atomic<bool> interrupted_{false};
};

}  // namespace codeswarm::worker::openai
