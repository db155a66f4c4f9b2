// The stub model server (tests/stub/stub_model_server.py) as a child process of a test: started
// on a free port of 127.0.0.1, steered through its control endpoint, and asked what requests it
// received. Agent-neutral: it serves whatever APIs the stub's modules implement (OpenAI
// Responses and Chat Completions; Anthropic Messages when tests/stub/anthropic_api.py exists).
// The knobs are documented at the top of stub_model_server.py.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/subprocess.h"

namespace codeswarm::e2e {

class StubModelServer {
 public:
  // Starts the stub with $CODESWARM_PYTHON (default python3); fails the test when it does not
  // print its port within 10 s. With `tls`, it serves HTTPS with that certificate and key (the
  // control plane below then does not work: HttpRequest speaks plain HTTP).
  struct Tls {
    std::string cert_file;
    std::string key_file;
  };
  explicit StubModelServer(std::optional<Tls> tls = std::nullopt);
  // Stops it (SIGTERM, then SIGKILL).
  ~StubModelServer();
  StubModelServer(const StubModelServer&) = delete;
  StubModelServer& operator=(const StubModelServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>" (https:// with TLS); the OpenAI APIs are under /v1.
  std::string url() const;

  // POST /control with `control`; fails the test unless the stub answers {"ok": true}.
  void Control(const boost::json::object& control);
  // Appends one rule: {"match": ..., behaviour...}.
  void AddRule(const boost::json::object& rule);
  // Forgets rules, default behaviour, required API key and recorded requests.
  void Reset();
  // Every request recorded so far (GET /requests), optionally only those to `path`.
  std::vector<boost::json::object> Requests(const std::string& path = "");

 private:
  std::optional<Subprocess> process_;
  int port_ = 0;
  bool tls_ = false;
};

// One HTTP exchange with a local server (for the stub's control plane): returns the status and
// body, or status 0 and the error in the body.
struct HttpReply {
  long status = 0;
  std::string body;
};
HttpReply HttpRequest(const std::string& method, const std::string& url, const std::string& body = "");

}  // namespace codeswarm::e2e
