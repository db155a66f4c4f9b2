#include "e2e/stub_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace codeswarm::e2e {
namespace json = boost::json;

namespace {

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
  // Plain HTTP/1.0 to 127.0.0.1: all the stub's control plane needs, and no HTTP library.
  HttpReply reply;
  constexpr std::string_view kPrefix = "http://127.0.0.1:";
  std::size_t slash = url.find('/', kPrefix.size());
  if (url.rfind(kPrefix, 0) != 0 || slash == std::string::npos) {
    reply.body = "HttpRequest takes http://127.0.0.1:<port>/<path>, not " + url;
    return reply;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::atoi(url.c_str() + kPrefix.size())));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    reply.body = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return reply;
  }
  std::string message = method + " " + url.substr(slash) + " HTTP/1.0\r\nHost: 127.0.0.1\r\n" +
                        "Content-Type: application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::size_t sent = 0; sent < message.size();) {
    ssize_t n = ::send(fd, message.data() + sent, message.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;  // HTTP/1.0: the server closes after the answer
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) < 0) break;
    if (p.revents == 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  std::size_t header_end = answer.find("\r\n\r\n");
  if (answer.rfind("HTTP/", 0) != 0 || header_end == std::string::npos) {
    reply.body = "no HTTP answer from " + url;
    return reply;
  }
  reply.status = std::atol(answer.c_str() + answer.find(' ') + 1);
  reply.body = answer.substr(header_end + 4);
  return reply;
}

StubModelServer::StubModelServer(std::optional<Tls> tls) : tls_(tls.has_value()) {
  const char* python = std::getenv("CODESWARM_PYTHON");
  SpawnOptions options;
  options.argv = {python != nullptr && *python != '\0' ? python : "python3",
                  std::string(CODESWARM_SOURCE_DIR) + "/tests/stub/stub_model_server.py",
                  "--exit-on-stdin-eof"};
  if (tls) {
    options.argv.insert(options.argv.end(),
                        {"--tls-cert", tls->cert_file, "--tls-key", tls->key_file});
  }
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

std::string StubModelServer::url() const {
  return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
}

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
