// A blocking, line-oriented connection to the router: the narrow interface the Client needs, so
// that the socket is one implementation among possible others (a test pipe, a TLS stream).
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace codeswarm::cli {

struct ReadOutcome {
  enum class Kind {
    kLine,         // `line` holds the next line, without its newline
    kTooLong,      // a line over the size limit arrived and was discarded
    kTimeout,      // the deadline passed first
    kClosed,       // the peer closed the connection or it broke; `error` says how
    kInterrupted,  // the user pressed Ctrl-C
  };
  Kind kind = Kind::kLine;
  std::string line;
  std::string error;
};

class LineConnection {
 public:
  virtual ~LineConnection() = default;

  // Writes `line` followed by "\n", all of it, before `deadline`. A line must not contain "\n".
  virtual Status WriteLine(std::string_view line, SteadyTime deadline) = 0;

  // Returns the next line, or why there is none. Lines already received are returned even after
  // the peer closed; kClosed comes once they are used up.
  virtual ReadOutcome ReadLine(SteadyTime deadline) = 0;

  // "HOST:PORT" of the peer, for messages.
  virtual std::string PeerName() const = 0;
};

}  // namespace codeswarm::cli
