#include "cli/client.h"

#include <unistd.h>

#include <boost/json.hpp>

#include <atomic>

#include "common/text.h"

namespace codeswarm::cli {

std::string NewRequestId() {
  static std::atomic<int> counter{0};
  return "cli-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

Client::Client(std::unique_ptr<LineConnection> connection, std::ostream& warnings,
               std::ostream* debug, std::unique_ptr<Dialer> dialer)
    : connection_(std::move(connection)),
      warnings_(warnings),
      debug_(debug),
      dialer_(std::move(dialer)) {}

namespace {

// Stands in for a connection that is gone and could not be made again.
class LostConnection : public LineConnection {
 public:
  LostConnection(std::string peer, std::string error)
      : peer_(std::move(peer)), error_(std::move(error)) {}
  Status WriteLine(std::string_view, SteadyTime) override { return Status::IoError(error_); }
  ReadOutcome ReadLine(SteadyTime) override { return {ReadOutcome::Kind::kClosed, {}, error_}; }
  std::string PeerName() const override { return peer_; }

 private:
  const std::string peer_;
  const std::string error_;
};

}  // namespace

Status Client::Reconnect(SteadyTime deadline, const Clock& clock, Duration pause_first) {
  if (dialer_ == nullptr) return Status::FailedPrecondition("this client cannot reconnect");
  const std::string peer = connection_->PeerName();
  // The old connection is closed first: a router that is still there learns at once that this
  // client went away.
  connection_ = std::make_unique<LostConnection>(peer, "the connection to the router was lost");
  Result<std::unique_ptr<LineConnection>> connection = DialWithBackoff(*dialer_, clock, deadline, pause_first);
  if (!connection.ok()) {
    connection_ = std::make_unique<LostConnection>(peer, connection.status().message());
    return connection.status();
  }
  connection_ = std::move(*connection);
  if (debug_ != nullptr) *debug_ << "* reconnected to " << connection_->PeerName() << std::endl;
  return Status::Ok();
}

Result<std::string> Client::Send(std::string_view command, const boost::json::object& payload,
                                 SteadyTime deadline) {
  std::string request_id = NewRequestId();
  boost::json::object envelope;
  envelope["protocol"] = "codeswarm.router.v1";
  envelope["type"] = "command";
  envelope["command"] = command;
  envelope["request_id"] = request_id;
  envelope["payload"] = payload;
  std::string line = boost::json::serialize(envelope);
  if (debug_ != nullptr) *debug_ << "> " << line << std::endl;
  CODESWARM_RETURN_IF_ERROR(connection_->WriteLine(line, deadline));
  return request_id;
}

Received Client::Next(SteadyTime deadline) {
  using Kind = ReadOutcome::Kind;
  while (true) {
    ReadOutcome read = connection_->ReadLine(deadline);
    switch (read.kind) {
      case Kind::kLine:
        break;
      case Kind::kTooLong:
        warnings_ << "warning: skipped an over-long line from the router" << std::endl;
        continue;
      case Kind::kTimeout:
        return {Received::Kind::kTimeout, {}, {}};
      case Kind::kClosed:
        return {Received::Kind::kLost, {}, read.error};
      case Kind::kInterrupted:
        return {Received::Kind::kInterrupted, {}, {}};
    }
    if (debug_ != nullptr) *debug_ << "< " << read.line << std::endl;
    std::optional<Event> event = ParseEvent(read.line);
    if (!event) {
      // Not fatal: the router may one day send other envelope types, and one bad line should
      // not end a long stream.
      warnings_ << "warning: skipped a line from the router that is not an event: "
                << Ellipsize(read.line, 200) << std::endl;
      continue;
    }
    if (event->name == "connection_closing") {
      std::string reason(event->Str("reason"));
      return {Received::Kind::kClosing, std::move(*event), std::move(reason)};
    }
    return {Received::Kind::kEvent, std::move(*event), {}};
  }
}

}  // namespace codeswarm::cli
