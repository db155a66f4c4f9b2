// Maps what Claude Code writes on stdout during one turn onto a TurnSink, answers its permission
// requests per the configured decision, and decides how the turn ended. Pure: no I/O; the agent
// feeds it one parsed message at a time (and the unit tests feed it recorded transcripts).
//
// Mapping (messages of subagents, i.e. with a parent_tool_use_id, are ignored):
//   stream_event content_block_delta text_delta -> Delta. When a turn has several text blocks
//                          (text, a tool call, more text), a "\n\n" delta separates them, so the
//                          deltas always add up to the final text.
//   assistant              -> its text blocks are collected; those that were not streamed (claude
//                          run without --include-partial-messages) are reported as deltas then.
//                          claude's own error notices (is_api_error_message, model
//                          "<synthetic>") are not model text and are skipped.
//   control_request can_use_tool -> Approval("tool", ToolSubject(tool, input), decision), and
//                          per what it returns the answer (allow with the input unchanged, or deny) to write back
//   other control_request  -> answered with an error (Codeswarm serves no hooks or MCP)
//   result                 -> the end: Message(collected texts joined by "\n\n"), Usage
//                          (UsageFromResult), and the outcome: completed; interrupted when an
//                          interrupt was sent and the turn did not succeed; failed when is_error
//                          or the subtype is not "success", with claude's message (`result`, else
//                          `errors`) and the HTTP status when claude names one.
// Everything else (system, user, control_response, unknown types) is ignored.
#pragma once

#include <boost/json/fwd.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "worker/agent.h"

namespace codeswarm::worker::claude {

class ClaudeTurnMapper {
 public:
  // `decision` is "accept", "decline" or "ask" (the sink then returns a person's answer).
  // Borrows `sink`.
  ClaudeTurnMapper(TurnSink& sink, std::string decision);

  // Feeds one message. Returns the line to write back to claude (the answer to its control
  // request), if any. REQUIRES: !finished()
  std::optional<std::string> OnMessage(const boost::json::object& message);

  // Says that an interrupt request was sent for this turn, so that its unsuccessful end counts
  // as interrupted rather than failed.
  void SetInterruptRequested() { interrupt_requested_ = true; }

  // True once the result message arrived (Message and Usage have then been reported).
  bool finished() const { return outcome_.has_value(); }
  // REQUIRES: finished()
  const TurnOutcome& outcome() const { return *outcome_; }

 private:
  void OnStreamEvent(const boost::json::object& message);
  void OnAssistant(const boost::json::object& message);
  std::optional<std::string> OnControlRequest(const boost::json::object& message);
  void OnResult(const boost::json::object& message);
  // Reports `text` as the next piece of the text block `block` (message id + index).
  void StreamText(const std::string& block, std::string_view text);

  TurnSink& sink_;
  const std::string decision_;
  bool interrupt_requested_ = false;
  std::string streaming_message_;          // id of the message whose stream events came last
  std::string streaming_block_;            // the text block whose deltas came last
  std::set<std::string> streamed_messages_;  // messages that had text deltas
  bool streamed_text_ = false;             // any text reported this turn
  std::vector<std::string> texts_;         // text blocks of the turn's assistant messages
  std::optional<TurnOutcome> outcome_;
};

// The error of a failed result message, for a person.
std::string ResultError(const boost::json::object& result);

}  // namespace codeswarm::worker::claude
