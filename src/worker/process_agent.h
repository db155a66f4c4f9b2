// An agent that is an agent CLI running as one long-lived child process per node, speaking JSON
// lines on its stdin and stdout (codex app-server, Claude Code in stream-json mode). ProcessAgent
// does what is common: spawning the process, the handshake's waiting, the turn loop, interrupts
// and stopping. The agent supplies its command line (Options) and a Protocol: the handshake's
// messages, and per turn a Turn that sends the prompt and the interrupt request and maps what
// the process says. Both talk to the process through an AgentChannel.
//
// Start spawns the process (a missing binary is named with the setting to fix) and runs the
// handshake; when it fails, the process is stopped. RunTurn begins a Turn and hands it every
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
// Threading: as Agent. Everything but Interrupt runs on the agent thread, Protocol, Turn and
// AgentChannel included.
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

// The agent's process as its protocol sees it: JSON lines out, JSON objects in, and why the
// process is gone once it is (recorded once; every later turn fails with it).
class AgentChannel {
 public:
  // `name` names the process in messages; `handshake_timeout` is what Await's deadline allows.
  AgentChannel(std::unique_ptr<AgentProcess> process, std::string name,
               std::chrono::milliseconds handshake_timeout);

  // Writes one line to the process. When it does not take it, records why the process is gone.
  Status Send(std::string_view line);

  // Reads the process's messages, handing each to `on_message`, until it returns a status (the
  // awaited answer came) — for the handshake's requests. When the process exits, or `deadline`
  // passes (the process is then killed), the error names `what` ("initialize") and why.
  using AwaitHandler = std::function<std::optional<Status>(const boost::json::object&)>;
  Status Await(std::string_view what, SteadyTime deadline, const AwaitHandler& on_message);

  // The failed outcome for a process that is gone (recording why, once).
  TurnOutcome ProcessGone();

 private:
  friend class ProcessAgent;
  // The next event, with a line that is not a JSON object skipped (and logged).
  AgentProcess::Event Next(std::optional<SteadyTime> deadline, boost::json::object* message);

  const std::unique_ptr<AgentProcess> process_;
  const std::string name_;
  const std::chrono::milliseconds handshake_timeout_;
  std::string gone_;  // set once the process is gone: why
};

class ProcessAgent final : public Agent {
 public:
  struct Options {
    // "codex": names the process in messages and logs, its setting of the binary
    // ("agent.codex.binary", named when the binary is missing) and its stderr file in the node's
    // directory ("codex.stderr.log").
    std::string name;
    // The process's command line, environment and working directory for a node:
    // AgentSpawnOptions plus the agent's own.
    std::function<SpawnOptions(const AgentContext& context, const std::string& stderr_path)>
        spawn_options;
    std::chrono::milliseconds handshake_timeout{60000};
    std::chrono::milliseconds interrupt_grace{10000};
    std::chrono::milliseconds stop_grace{2000};  // for each of EOF and SIGTERM
  };

  // One turn of an agent's protocol, made by Protocol::NewTurn for each RunTurn.
  class Turn {
   public:
    virtual ~Turn() = default;
    // Sends the prompt. On error the turn fails with why the process is gone.
    virtual Status Begin() = 0;
    // Whether the interrupt request can go now (codex needs the turn's id first); asked again
    // after each message until it is sent.
    virtual bool CanInterrupt() const { return true; }
    virtual Status SendInterrupt() = 0;
    // Maps one message from the process; returns the outcome once the turn has ended.
    virtual std::optional<TurnOutcome> OnMessage(const boost::json::object& message) = 0;
  };

  // What one agent's CLI speaks.
  class Protocol {
   public:
    virtual ~Protocol() = default;
    // The opening exchange; it must end by `deadline` (AgentChannel::Await).
    virtual Status Handshake(AgentChannel& channel, const AgentContext& context,
                             SteadyTime deadline) = 0;
    virtual std::unique_ptr<Turn> NewTurn(AgentChannel& channel, const TurnRequest& turn,
                                          TurnSink& sink) = 0;
  };

  // REQUIRES: `clock` outlives the agent.
  ProcessAgent(Options options, std::unique_ptr<Protocol> protocol, const Clock& clock);
  ~ProcessAgent() override;

  Status Start(const AgentContext& context) override;
  TurnOutcome RunTurn(const TurnRequest& turn, TurnSink& sink) override;
  void Interrupt() override;
  void Stop() override;

 private:
  const Options options_;
  const std::unique_ptr<Protocol> protocol_;
  const Clock& clock_;
  std::unique_ptr<AgentChannel> channel_;  // set by Start; Interrupt only wakes its process
  std::string start_error_;                // why Start failed, for every turn after it
  std::atomic<bool> interrupt_requested_{false};
};

}  // namespace codeswarm::worker
