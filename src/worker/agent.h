// The Agent interface: what a worker drives, whatever the agent (mock, codex, claude, an
// OpenAI-compatible endpoint). The worker never knows which one it runs.
//
// Threading: Start, RunTurn and Stop run on the worker's agent thread, one call at a time.
// Interrupt may be called from any thread at any time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace codeswarm::worker {

struct AgentContext {
  std::string swarm_id;
  int node_id = 0;
  std::string system_prompt;
  // The node's working directory (the worker's cwd).
  std::string work_dir;
};

struct TurnRequest {
  std::string injection_id;
  std::string prompt;
  int turn_index = 0;  // 1 for the node's first turn
};

struct TokenUsage {
  int64_t input_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t reasoning_output_tokens = 0;
  int64_t total_tokens = 0;
};

// Where an agent reports a turn as it happens. The worker wraps these into runtime events; it
// emits turn_started before RunTurn and exactly one turn_complete after it.
class TurnSink {
 public:
  virtual ~TurnSink() = default;
  // The next piece of the answer text.
  virtual void Delta(std::string_view text) = 0;
  // The complete answer text.
  virtual void Message(std::string_view text) = 0;
  virtual void Usage(const TokenUsage& usage) = 0;
  // The agent asked for permission (to run a command, change files, use a tool). `kind` is
  // "command", "file_change" or "tool"; `subject` says what was asked (the command line, the
  // files, the tool); `policy` is the configured approval_decision: "accept", "decline" or
  // "ask". Returns the answer to give the agent, "accept" or "decline". With "ask" it blocks
  // until a person decides, the approval timeout passes or the turn is asked to stop (then
  // "decline"); the sink reports the request and its answer as events.
  virtual std::string Approval(std::string_view kind, std::string_view subject,
                               std::string_view policy) = 0;
};

struct TurnOutcome {
  enum class Status { kCompleted, kFailed, kInterrupted };
  Status status = Status::kCompleted;
  std::string error;  // set unless completed

  static TurnOutcome Completed() { return {}; }
  static TurnOutcome Failed(std::string error) { return {Status::kFailed, std::move(error)}; }
  static TurnOutcome Interrupted(std::string error) {
    return {Status::kInterrupted, std::move(error)};
  }
};

std::string_view TurnStatusName(TurnOutcome::Status status);

class Agent {
 public:
  virtual ~Agent() = default;
  // Prepares the agent (e.g. spawns its process and completes its handshake). On error every
  // turn of this node fails with that error.
  virtual Status Start(const AgentContext& context) = 0;
  // Runs one turn to its end and says how it ended. Blocks.
  virtual TurnOutcome RunTurn(const TurnRequest& turn, TurnSink& sink) = 0;
  // Asks the running turn to end soon; RunTurn then returns kInterrupted. Called only while
  // RunTurn runs, and repeated (every 100 ms) until it returns — so an agent may clear its flag
  // when a turn begins without losing a request that lands at that moment — so it must be cheap
  // and idempotent.
  virtual void Interrupt() = 0;
  // Releases the agent's resources (kills its process). Called once, last.
  virtual void Stop() {}
};

}  // namespace codeswarm::worker
