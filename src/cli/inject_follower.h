// Follows one `inject` command through its events: the acks (which name the injection and every
// targeted node), then per node either inject_failed or the turn's runtime events up to
// turn_complete. Renders them, decides when the command is over and what its exit code is.
// Fed events by the inject command (or a test); does no I/O of its own besides `output`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cli/event.h"
#include "cli/output.h"
#include "cli/stream_printer.h"
#include "cli/turn_renderer.h"

namespace codeswarm::cli {

class InjectFollower {
 public:
  // Borrows `output`.
  InjectFollower(std::string request_id, Output& output);

  // Takes any event received after the command was sent; ignores those of other commands and
  // injections. With --json, emits the ones that belong to this injection. When the last node
  // ends, prints the summary ("3/4 nodes completed, 1 failed, estimated cost $0.0421").
  void OnEvent(const Event& event);

  // The router answered (an inject_ack or a rejection).
  bool answered() const { return answered_; }
  // Every targeted node ended, or the command was rejected.
  bool done() const;
  // REQUIRES: done(). kExitOk when every targeted node completed its turn, else kExitFailed.
  int exit_code() const;
  // Targeted nodes that have not ended yet, ascending.
  std::vector<int64_t> PendingNodes() const;
  const std::string& swarm_id() const { return swarm_id_; }
  // Ends a half-printed line of streamed text, for when following stops early.
  void EndOpenLine() { printer_.EndOpenLine(); }

 private:
  enum class NodeResult { kPending, kCompleted, kFailed, kInterrupted, kNotDelivered };

  void OnAck(const Event& event);
  void EndNode(int64_t node, NodeResult result);
  // A usage event: adds its cost_usd, or notes why it has none.
  void CountCost(const Event& event);
  std::string Summary() const;

  const std::string request_id_;
  Output& output_;
  StreamPrinter printer_;
  TurnRenderer turns_;
  bool answered_ = false;
  bool rejected_ = false;
  std::string injection_id_;
  std::string swarm_id_;
  std::map<int64_t, NodeResult> nodes_;  // every targeted node
  // The estimated cost of the turns' usage events; cost_note_ says why it is unknown when a
  // usage event had no price.
  double cost_usd_ = 0;
  int priced_usages_ = 0;
  std::string cost_note_;
};

}  // namespace codeswarm::cli
