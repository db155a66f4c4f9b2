// The router core's view of its connections. The Asio sessions (client_session.cc,
// worker_session.cc) implement these; tests use recording fakes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace codeswarm::router {

using ClientId = uint64_t;
using ConnId = uint64_t;

// What happens to the broadcast lines held for a client that joins the live stream.
enum class HeldLines {
  kSend,  // the client gets them first: it has every line broadcast since it connected
  kDrop,  // they are dropped: the client subscribed, and its replay holds them
};

// All connected clients. A client gets every line broadcast after it connected, but they are
// held until it joins the live stream (Join), which the core does at its first command, so that
// a first `subscribe` can replay the past before anything live.
class ClientChannel {
 public:
  virtual ~ClientChannel() = default;
  // Sends complete event lines (one or more, each with its newline) to every client (held for
  // those that have not joined). Lines keep their order.
  virtual void Broadcast(std::string lines) = 0;
  // Puts `client` on the live stream: what was held for it is sent first or dropped, then it
  // gets every broadcast line as it comes. Unknown ids are ignored; joining twice changes
  // nothing.
  virtual void Join(ClientId client, HeldLines held) = 0;
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
