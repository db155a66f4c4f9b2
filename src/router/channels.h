// The router core's view of its connections. The Asio sessions (client_session.cc,
// worker_session.cc) implement these; tests use recording fakes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace codeswarm::router {

using ClientId = uint64_t;
using ConnId = uint64_t;

// All connected clients.
class ClientChannel {
 public:
  virtual ~ClientChannel() = default;
  // Sends a complete event line (newline included) to every client. Lines keep their order.
  virtual void Broadcast(std::string line) = 0;
  // Sends a line to one client, after every line broadcast before it. Unknown ids are ignored
  // (the client may have gone).
  virtual void SendTo(ClientId client, std::string line) = 0;
};

// One live connection from a worker.
class WorkerConnection {
 public:
  virtual ~WorkerConnection() = default;
  // Queues a complete line (newline included).
  virtual void Send(std::string line) = 0;
  // Sends what is queued, then closes. The core hears OnWorkerDisconnected afterwards.
  virtual void Close(std::string_view reason) = 0;
};

}  // namespace codeswarm::router
