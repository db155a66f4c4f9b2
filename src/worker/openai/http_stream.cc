#include "worker/openai/http_stream.h"

#include <curl/curl.h>

#include <cstring>
#include <mutex>
#include <strings.h>

#include "common/text.h"

namespace codeswarm::worker::openai {

struct HttpStreamClient::Handles {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  ~Handles() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
};

namespace {

// State of one transfer, reached from curl's callbacks.
struct Transfer {
  CURL* easy;
  const HttpStreamClient::OnBody* on_body;
  HttpStreamClient::Response* response;
  const Clock* clock;
  SteadyTime last_data;  // when the server last sent something
};

size_t OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->last_data = t->clock->Now();
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  t->response->status = static_cast<int>(status);
  if (!(*t->on_body)(t->response->status, std::string_view(data, size * count))) {
    t->response->body_rejected = true;
    return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
  }
  return size * count;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->last_data = t->clock->Now();
  std::string_view line(data, size * count);
  if (StartsWith(line, "HTTP/")) t->response->retry_after.reset();  // a new header block
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size() &&
      ::strncasecmp(line.data(), kRetryAfter.data(), kRetryAfter.size()) == 0) {
    t->response->retry_after = std::string(TrimWhitespace(line.substr(kRetryAfter.size())));
  }
  return size * count;
}

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
};

}  // namespace

Result<std::unique_ptr<HttpStreamClient>> HttpStreamClient::Create(const Clock& clock) {
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto handles = std::make_unique<Handles>();
  handles->multi = curl_multi_init();
  handles->easy = curl_easy_init();
  if (handles->multi == nullptr || handles->easy == nullptr) {
    return Status::Internal("libcurl could not be initialised");
  }
  return std::unique_ptr<HttpStreamClient>(new HttpStreamClient(std::move(handles), clock));
}

HttpStreamClient::HttpStreamClient(std::unique_ptr<Handles> handles, const Clock& clock)
    : handles_(std::move(handles)), clock_(clock) {}

HttpStreamClient::~HttpStreamClient() = default;

void HttpStreamClient::Wake() { curl_multi_wakeup(handles_->multi); }

bool HttpStreamClient::Sleep(std::chrono::milliseconds delay, const ShouldStop& should_stop) {
  const SteadyTime deadline = clock_.Now() + delay;
  while (!should_stop()) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock_.Now());
    if (left.count() <= 0) return true;
    curl_multi_poll(handles_->multi, nullptr, 0, static_cast<int>(std::min<int64_t>(left.count(), 1000)),
                    nullptr);
  }
  return false;
}

HttpStreamClient::Response HttpStreamClient::Post(const Request& request, const OnBody& on_body,
                                                  const ShouldStop& should_stop) {
  Response response;
  CURL* easy = handles_->easy;
  Transfer transfer{easy, &on_body, &response, &clock_, clock_.Now()};
  // curl's own low-speed limit averages over several seconds; this is exact to the poll tick.
  const Duration idle_limit = FromSeconds(request.idle_timeout_seconds);
  HeaderList headers;
  for (const std::string& h : request.headers) headers.list = curl_slist_append(headers.list, h.c_str());
  headers.list = curl_slist_append(headers.list, "Expect:");  // no 100-continue round trip
  char error_buffer[CURL_ERROR_SIZE] = {};

  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout_seconds * 1000));

  curl_multi_add_handle(handles_->multi, easy);
  CURLcode result = CURLE_OK;
  while (true) {
    if (should_stop()) {
      response.stopped = true;
      break;
    }
    int running = 0;
    CURLMcode mc = curl_multi_perform(handles_->multi, &running);
    if (mc != CURLM_OK) {
      result = CURLE_FAILED_INIT;
      std::snprintf(error_buffer, sizeof error_buffer, "%s", curl_multi_strerror(mc));
      break;
    }
    int queued = 0;
    bool finished = false;
    while (CURLMsg* msg = curl_multi_info_read(handles_->multi, &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
        result = msg->data.result;
        finished = true;
      }
    }
    if (finished || running == 0) break;
    Duration idle_left = transfer.last_data + idle_limit - clock_.Now();
    if (idle_left <= Duration::zero()) {
      result = CURLE_OPERATION_TIMEDOUT;
      std::snprintf(error_buffer, sizeof error_buffer, "no data from the server for %g s",
                    request.idle_timeout_seconds);
      break;
    }
    auto wait = std::min(std::chrono::ceil<std::chrono::milliseconds>(idle_left),
                         std::chrono::milliseconds(1000));
    curl_multi_poll(handles_->multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
  }
  curl_multi_remove_handle(handles_->multi, easy);
  if (!response.stopped && result != CURLE_OK && !response.body_rejected) {
    response.curl_code = result;
    response.transport_error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(result);
    long os_errno = 0;  // curl says "Couldn't connect to server"; the system says why
    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    std::string cause = os_errno != 0 ? std::strerror(static_cast<int>(os_errno)) : "";
    if (!cause.empty() && response.transport_error.find(cause) == std::string::npos) {
      response.transport_error += " (" + cause + ")";
    }
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (status != 0) response.status = static_cast<int>(status);
  curl_easy_reset(easy);  // drop the pointers to this call's buffers; keeps the connection
  return response;
}

}  // namespace codeswarm::worker::openai
