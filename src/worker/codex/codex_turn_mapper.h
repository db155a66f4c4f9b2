// Maps what `codex app-server` says during one turn onto a TurnSink, answers its approval
// requests per the configured decision, and decides how the turn ended. Pure: no I/O; the agent
// feeds it one parsed message at a time (and the unit tests feed it recorded transcripts).
//
// Mapping:
//   item/agentMessage/delta       -> Delta. When a turn has several agent messages (text, a tool
//                                    call, more text), a "\n\n" delta separates them, so the
//                                    deltas always add up to the final text.
//   item/completed (agentMessage) -> collected; Message(all of them joined by "\n\n") at the end
//   thread/tokenUsage/updated     -> Usage at the end: how much codex's thread total grew during
//                                    this turn (= the sum of `last` over the turn's model calls)
//   item/commandExecution/requestApproval -> Approval("command", <command line>, decision),
//                                            answered with what it returns
//   item/fileChange/requestApproval       -> Approval("file_change", <paths>, decision), same
//   any other server request      -> answered with an error, reported as Approval("tool",
//                                    <method>, "decline")
//   error (willRetry false)       -> remembered as the turn's error
//   turn/completed                -> finished: completed | failed (turn.error.message, with
//                                    codexErrorInfo when the message does not say it) |
//                                    interrupted
// Unknown notifications and those of other turns are ignored.
#pragma once

#include <boost/json.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "worker/agent.h"

namespace codeswarm::worker::codex {

// The answer to one server request: a result object, or a JSON-RPC error.
struct ServerRequestAnswer {
  boost::json::object result;  // when error_message is empty
  int error_code = 0;
  std::string error_message;
};

class CodexTurnMapper {
 public:
  // `decision` is "accept", "decline" or "ask" (the sink then returns a person's answer). `thread_usage` is codex's running token total for the
  // thread; the caller keeps it across turns and the mapper updates it. Borrows `sink` and
  // `thread_usage`.
  CodexTurnMapper(TurnSink& sink, std::string decision, TokenUsage* thread_usage);

  // The turn's id, from the turn/start response (turn/started also supplies it).
  void SetTurnId(std::string_view turn_id);
  const std::string& turn_id() const { return turn_id_; }

  void OnNotification(std::string_view method, const boost::json::object& params);
  ServerRequestAnswer OnServerRequest(std::string_view method, const boost::json::object& params);

  // True once turn/completed arrived (Message and Usage have then been reported).
  bool finished() const { return outcome_.has_value(); }
  // REQUIRES: finished()
  const TurnOutcome& outcome() const { return *outcome_; }

 private:
  bool OfOtherTurn(const boost::json::object& params) const;
  void StreamText(const std::string& item_id, std::string_view text);
  void OnItemStarted(const boost::json::object& item);
  void OnItemCompleted(const boost::json::object& item);
  void OnTokenUsage(const boost::json::object& params);
  void OnTurnCompleted(const boost::json::object& turn);

  TurnSink& sink_;
  const std::string decision_;
  TokenUsage* const thread_usage_;
  const TokenUsage usage_at_start_;
  std::string turn_id_;
  bool usage_seen_ = false;
  std::string streaming_item_;            // the agent message whose deltas came last
  std::set<std::string> streamed_items_;  // agent messages that had deltas
  bool streamed_text_ = false;            // any text streamed this turn
  std::vector<std::string> messages_;     // completed agent messages
  std::map<std::string, std::string> file_changes_;  // item id -> the paths it changes
  std::string last_error_;
  std::optional<TurnOutcome> outcome_;
};

// `total` minus `start`, field by field, never below zero.
TokenUsage UsageGrowth(const TokenUsage& start, const TokenUsage& total);

}  // namespace codeswarm::worker::codex
