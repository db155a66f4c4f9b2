#include "worker/openai/openai_agent.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <random>

#include "worker/openai/sse_parser.h"

namespace codeswarm::worker::openai {

namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

RetryPolicy PolicyFrom(const OpenAiAgentSettings& settings) {
  RetryPolicy policy;
  policy.max_retries = settings.max_retries;
  return policy;
}

double Jitter() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

OpenAiAgent::OpenAiAgent(OpenAiAgentSettings settings, std::optional<RetryPolicy> policy,
                         const Clock& clock)
    : settings_(std::move(settings)), policy_(policy.value_or(PolicyFrom(settings_))), clock_(clock) {}

std::string OpenAiAgent::EndpointUrl(std::string_view base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  return std::string(base_url) + "/chat/completions";
}

Status OpenAiAgent::Start(const AgentContext& context) {
  url_ = EndpointUrl(settings_.base_url);
  headers_ = {"Content-Type: application/json", "Accept: text/event-stream"};
  if (!settings_.api_key_env.empty()) {
    const char* key = std::getenv(settings_.api_key_env.c_str());
    if (key != nullptr && *key != '\0') {
      headers_.push_back(std::string("Authorization: Bearer ") + key);
      have_api_key_ = true;
    } else {
      spdlog::warn("openai agent: environment variable {} (agent.openai.api_key_env) is not set; "
                   "requests go without an API key",
                   settings_.api_key_env);
    }
  }
  if (!context.system_prompt.empty()) history_.push_back({"system", context.system_prompt});
  Result<std::unique_ptr<HttpStreamClient>> client = HttpStreamClient::Create(clock_);
  if (!client.ok()) return client.status();
  client_ = std::move(*client);
  spdlog::info("openai agent: model {} at {}", settings_.model, url_);
  return Status::Ok();
}

void OpenAiAgent::Interrupt() {
  interrupted_ = true;
  if (client_) client_->Wake();
}

std::string OpenAiAgent::Describe(const HttpStreamClient::Response& response,
                                  const std::string& error_body, bool streamed) const {
  if (response.transport_failed) {
    if (streamed || response.status != 0) {
      return "the stream from " + url_ + " broke off before the answer was complete: " +
             response.transport_error;
    }
    return "cannot reach " + url_ + ": " + response.transport_error;
  }
  if (response.status < 200 || response.status > 299) {
    std::string what = "HTTP " + std::to_string(response.status) + " from " + url_ + ": " +
                       ErrorMessageFromBody(error_body);
    if ((response.status == 401 || response.status == 403) && !have_api_key_) {
      what += " (no API key was sent: set the environment variable named by "
              "agent.openai.api_key_env";
      what += settings_.api_key_env.empty() ? ")" : ", " + settings_.api_key_env + ")";
    }
    return what;
  }
  return "the stream from " + url_ + " ended before the answer was complete (no finish_reason, no [DONE])";
}

TurnOutcome OpenAiAgent::RunTurn(const TurnRequest& turn, TurnSink& sink) {
  interrupted_ = false;
  std::vector<ChatMessage> messages = history_;
  messages.push_back({"user", turn.prompt});
  HttpStreamClient::Request request{url_, headers_, ChatRequestBody(settings_, messages),
                                    settings_.connect_timeout_seconds,
                                    settings_.idle_timeout_seconds};
  auto should_stop = [this] { return interrupted_.load(); };

  for (int retries = 0;; ++retries) {
    ChatStreamReader reader(sink);
    SseParser parser;
    Status stream_error;
    std::string error_body;
    auto on_body = [&](int status, std::string_view bytes) {
      if (status < 200 || status > 299) {
        error_body.append(bytes.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, error_body.size())));
        return true;
      }
      Status fed = parser.Feed(bytes, [&](const SseEvent& event) {
        if (stream_error.ok()) stream_error = reader.OnData(event.data);
      });
      if (!fed.ok() && stream_error.ok()) stream_error = fed;
      return stream_error.ok();
    };
    HttpStreamClient::Response response = client_->Post(request, on_body, should_stop);
    if (response.stopped) return TurnOutcome::Interrupted("interrupted");
    if (!stream_error.ok()) return TurnOutcome::Failed(stream_error.message());
    bool success = !response.transport_failed && response.status >= 200 && response.status <= 299;
    if (success && reader.complete()) {
      history_.push_back(messages.back());
      history_.push_back({"assistant", reader.text()});
      sink.Message(reader.text());
      if (!reader.usage()) spdlog::debug("openai agent: the server sent no usage; reporting zeros");
      sink.Usage(reader.usage().value_or(TokenUsage{}));
      return TurnOutcome::Completed();
    }

    AttemptFailure failure;
    failure.transport_error = !success && response.status == 0;
    failure.http_status = response.status;
    // A 200 whose stream stopped short is retried like a broken connection, if nothing showed.
    if (response.status >= 200 && response.status <= 299) failure.transport_error = true;
    failure.answer_streamed = reader.streamed();
    if (response.retry_after) failure.retry_after = ParseRetryAfter(*response.retry_after,
                                                            static_cast<std::time_t>(clock_.WallMillis() / 1000));
    std::string what = Describe(response, error_body, reader.streamed());
    std::optional<std::chrono::milliseconds> delay = RetryDelay(failure, retries, policy_, Jitter());
    if (!delay) {
      if (retries > 0) what += " (after " + std::to_string(retries + 1) + " attempts)";
      return TurnOutcome::Failed(what);
    }
    spdlog::warn("openai agent: {}; retrying in {} ms", what, delay->count());
    if (!client_->Sleep(*delay, should_stop)) return TurnOutcome::Interrupted("interrupted");
  }
}

}  // namespace codeswarm::worker::openai
