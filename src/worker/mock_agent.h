// A deterministic agent for tests, demos and benchmarks: its answer is derived from the prompt
// (a template over {prompt}, {node_id}, {turn}, {system_prompt}), streamed in a configurable
// number of chunks with a configurable delay, with failure modes.
//
// A prompt may carry directives that change one turn: [[mock:fail]] (the turn fails),
// [[mock:crash]] (the worker process aborts mid-turn), [[mock:hang]] (never finishes until
// interrupted), [[mock:delay=MS]] (delay per chunk), [[mock:chunks=N]], [[mock:orphan]] (starts
// a process in a session of its own and leaves it behind, as a tool command can).
#pragma once

#include <condition_variable>
#include <mutex>

#include "worker/agent.h"
#include "worker/agent_settings.h"

namespace codeswarm::worker {

class MockAgent : public Agent {
 public:
  explicit MockAgent(MockAgentSettings settings);

  Status Start(const AgentContext& context) override;
  TurnOutcome RunTurn(const TurnRequest& turn, TurnSink& sink) override;
  void Interrupt() override;

 private:
  // Waits `ms` or until interrupted; returns false when interrupted.
  bool Sleep(int ms);

  const MockAgentSettings settings_;
  AgentContext context_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;  // guarded by mu_
};

// Splits `text` into at most `n` pieces of similar size, never inside a UTF-8 sequence.
std::vector<std::string> SplitIntoChunks(const std::string& text, int n);
// Counts whitespace-separated words: the mock's notion of tokens.
int64_t CountWords(std::string_view text);

}  // namespace codeswarm::worker
