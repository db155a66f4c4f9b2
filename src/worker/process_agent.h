// The part of an agent that is an agent CLI running as one long-lived child process per node,
// speaking JSON lines on its stdin and stdout (codex app-server, Claude Code in stream-json
// mode): spawning it, its handshake's waiting, the turn loop, interrupts and stopping. A
// subclass supplies only what is its own: the command line, the handshake's messages, and per
// turn a Turn that sends the prompt and the interrupt request and maps what the process says.
//
// Start spawns the process (a missing binary is named with the setting to fix) and runs
// Handshake; when it fails, the process is stopped. RunTurn begins a Turn and hands it every
// JSON object the process writes (other lines are logged and skipped) until the Turn says the
// turn ended. Interrupt (any thread) is noticed by the turn loop at once (it wakes the process's
// poll): the Turn sends its interrupt request as soon as it can, and a process that has not
// ended the turn `interrupt_grace` after the request was noticed is killed, the turn ending
// interrupted. When the process dies or stops taking input, the running turn fails with its
// exit status and last stderr lines, and so does every later turn (the conversation is gone
// with the process; the node needs a new swarm).
//
// Time (handshake deadline, interrupt grace) is read on the injected Clock.
//
// Threading: as Agent. Start, RunTurn, Stop and the protected helpers run on the agent thread;
// Interrupt may be called from any thread.
#pragma once

#include <boost/json/fwd.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "common/subprocess.h"
#include "worker/agent.h"
#include "worker/agent_process.h"

namespace codeswarm::worker {

class ProcessAgent : public Agent {
 public:
  struct Options {
    // "codex": names the process in messages and logs, its setting of the binary
    // ("agent.codex.binary", named when the binary is missing) and its stderr file in the node's
    // directory ("codex.stderr.log").
    std::string name;
    std::chrono::milliseconds handshake_timeout{60000};
    std::chrono::milliseconds interrupt_grace{10000};
    std::chrono::milliseconds stop_grace{2000};  // for each of EOF and SIGTERM
  };

  ~ProcessAgent() override;

  Status Start(const AgentContext& context) final;
  TurnOutcome RunTurn(const TurnRequest& turn, TurnSink& sink) final;
  void Interrupt() final;
  void Stop() final;

 protected:
  // One turn of a subclass's protocol. Created by NewTurn for each RunTurn, on the agent thread.
  class Turn {
   public:
    virtual ~Turn() = default;
    // Sends the prompt. On error the turn fails with why the process is gone (Send records it).
    virtual Status Begin() = 0;
    // Whether the interrupt request can go now (codex needs the turn's id first); asked again
    // after each message until it is sent.
    virtual bool CanInterrupt() const { return true; }
    virtual Status SendInterrupt() = 0;
    // Maps one message from the process; returns the outcome once the turn has ended.
    virtual std::optional<TurnOutcome> OnMessage(const boost::json::object& message) = 0;
  };

  // REQUIRES: `clock` outlives the agent.
  ProcessAgent(Options options, const Clock& clock);

  // The process's command line, environment and working directory (stdin and stdout piped,
  // stderr to `stderr_path`, a process group of its own).
  virtual SpawnOptions MakeSpawnOptions(const AgentContext& context,
                                        const std::string& stderr_path) const = 0;
  // The protocol's opening exchange, through Send and Await; it must end by `deadline`.
  virtual Status Handshake(const AgentContext& context, SteadyTime deadline) = 0;
  virtual std::unique_ptr<Turn> NewTurn(const TurnRequest& turn, TurnSink& sink) = 0;

  // Writes one line to the process. When it does not take it, records why the process is gone.
  Status Send(std::string_view line);
  // Reads the process's messages, handing each to `on_message`, until it returns a status (the
  // awaited answer came) — for the handshake's requests. When the process exits, or `deadline`
  // passes (the process is then killed), the error names `what` ("initialize") and why.
  using AwaitHandler = std::function<std::optional<Status>(const boost::json::object&)>;
  Status Await(std::string_view what, SteadyTime deadline, const AwaitHandler& on_message);
  // The failed outcome for a process that is gone (recording why, once).
  TurnOutcome ProcessGone();

  const std::string& name() const { return options_.name; }

 private:
  const Options options_;
  const Clock& clock_;
  std::unique_ptr<AgentProcess> process_;  // set by Start; Interrupt only calls Wake on it
  std::string gone_;                        // set once the process is gone: why
  std::atomic<bool> interrupt_requested_{false};
};

}  // namespace codeswarm::worker
