#include "e2e/stub_server.h"

#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>

namespace codeswarm::e2e {
namespace json = boost::json;

namespace {

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// The first line the child writes to `fd`, waiting up to `timeout_ms`.
std::string ReadFirstLine(int fd, int timeout_ms) {
  std::string line;
  while (line.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<std::size_t>(n));
  }
  return line.substr(0, line.find('\n'));
}

}  // namespace

HttpReply HttpRequest(const std::string& method, const std::string& url, const std::string& body) {
  HttpReply reply;
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  } else {
    reply.body = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

StubModelServer::StubModelServer() {
  const char* python = std::getenv("CODESWARM_PYTHON");
  SpawnOptions options;
  options.argv = {python != nullptr && *python != '\0' ? python : "python3",
                  std::string(CODESWARM_SOURCE_DIR) + "/tests/stub/stub_model_server.py",
                  "--exit-on-stdin-eof"};
  options.new_process_group = true;
  // Our end of its stdin closes when this test process ends, however it ends: the stub then
  // exits instead of holding the test runner's output pipe open.
  options.stdin_mode = StdioMode::kPipe;
  options.stdout_mode = StdioMode::kPipe;
  auto started = Subprocess::Spawn(options);
  if (!started.ok()) {
    ADD_FAILURE() << "cannot start the stub model server: " << started.status().message();
    return;
  }
  process_ = std::move(*started);
  std::string line = ReadFirstLine(process_->stdout_fd(), 10000);
  port_ = std::atoi(line.c_str());
  if (port_ <= 0) ADD_FAILURE() << "the stub model server printed no port (got \"" << line << "\")";
}

StubModelServer::~StubModelServer() {
  if (!process_) return;
  process_->Signal(SIGTERM);
  if (!process_->WaitFor(std::chrono::seconds(5))) {
    process_->Signal(SIGKILL);
    process_->Wait();
  }
}

std::string StubModelServer::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void StubModelServer::Control(const json::object& control) {
  HttpReply reply = HttpRequest("POST", url() + "/control", json::serialize(control));
  EXPECT_EQ(reply.status, 200) << "stub /control: " << reply.body;
}

void StubModelServer::AddRule(const json::object& rule) {
  Control({{"rules", json::array{rule}}});
}

void StubModelServer::Reset() { Control({{"reset", true}}); }

std::vector<json::object> StubModelServer::Requests(const std::string& path) {
  HttpReply reply = HttpRequest("GET", url() + "/requests");
  EXPECT_EQ(reply.status, 200) << "stub /requests: " << reply.body;
  std::vector<json::object> out;
  if (reply.status != 200) return out;
  json::value parsed = json::parse(reply.body);
  for (const json::value& r : parsed.at("requests").as_array()) {
    const json::object& request = r.as_object();
    if (path.empty() || request.at("path").as_string() == path) out.push_back(request);
  }
  return out;
}

}  // namespace codeswarm::e2e
