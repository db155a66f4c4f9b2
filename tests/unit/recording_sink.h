// A TurnSink that records what an agent reported, for tests of agent adapters.
#pragma once

#include <string>
#include <vector>

#include "worker/agent.h"

namespace codeswarm::worker {

struct RecordedApproval {
  std::string kind, subject, decision;
  bool operator==(const RecordedApproval&) const = default;
};

class RecordingSink : public TurnSink {
 public:
  void Delta(std::string_view text) override {
    deltas.emplace_back(text);
    calls.push_back("delta");
  }
  void Message(std::string_view text) override {
    messages.emplace_back(text);
    calls.push_back("message");
  }
  void Usage(const TokenUsage& u) override {
    usages.push_back(u);
    calls.push_back("usage");
  }
  // Records the policy; answers it, or `ask_answer` when the policy is "ask".
  std::string Approval(std::string_view kind, std::string_view subject,
                       std::string_view policy) override {
    approvals.push_back({std::string(kind), std::string(subject), std::string(policy)});
    calls.push_back("approval");
    return policy == "ask" ? ask_answer : std::string(policy);
  }
  std::string ask_answer = "decline";

  std::string StreamedText() const {
    std::string out;
    for (const std::string& d : deltas) out += d;
    return out;
  }

  std::vector<std::string> deltas;
  std::vector<std::string> messages;
  std::vector<TokenUsage> usages;
  std::vector<RecordedApproval> approvals;
  std::vector<std::string> calls;  // "delta", "message", "usage", "approval" in order
};

inline bool operator==(const TokenUsage& a, const TokenUsage& b) {
  return a.input_tokens == b.input_tokens && a.cached_input_tokens == b.cached_input_tokens &&
         a.output_tokens == b.output_tokens &&
         a.reasoning_output_tokens == b.reasoning_output_tokens && a.total_tokens == b.total_tokens;
}

}  // namespace codeswarm::worker
