// The stream-json protocol of Claude Code (`claude -p --input-format stream-json
// --output-format stream-json`), as pure data: the lines Codeswarm writes to claude's stdin and
// lenient readers for the messages claude writes on its stdout. No I/O.
//
// Lines written (one JSON object each):
//   {"type":"user","message":{"role":"user","content":[{"type":"text","text":PROMPT}]}}
//   {"type":"control_request","request_id":ID,"request":{"subtype":"initialize"|"interrupt"}}
//   {"type":"control_response","response":{"subtype":"success","request_id":ID,"response":
//       {"behavior":"allow","updatedInput":INPUT} | {"behavior":"deny","message":WHY}}}
//   {"type":"control_response","response":{"subtype":"error","request_id":ID,"error":WHY}}
// Messages read: system (init, status, api_retry), stream_event (the Messages API's SSE events),
// assistant, user (tool results), control_request (can_use_tool), control_response, result.
// Checked against Claude Code 2.1.331 (tests/fixtures/claude/).
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "worker/agent.h"
#include "worker/json_fields.h"

namespace codeswarm::worker::claude {

std::string UserMessageLine(std::string_view prompt);
// A control request without parameters: "initialize" or "interrupt".
std::string ControlRequestLine(std::string_view request_id, std::string_view subtype);
// The answer to a can_use_tool request: allow (running the tool with its `input` unchanged)
// or deny with `deny_message`.
std::string PermissionAnswerLine(std::string_view request_id, bool allow,
                                 const boost::json::value& input, std::string_view deny_message);
// The answer to a control request Codeswarm does not handle.
std::string ControlErrorLine(std::string_view request_id, std::string_view error);

// What an approval event says was asked: the tool's name and a short summary of its input
// ("Bash: touch x", "Edit: src/a.cc"), at most ~200 bytes.
std::string ToolSubject(std::string_view tool_name, const boost::json::value& input);

// Maps the `usage` object of a result message (summed over the turn's model calls):
//   input_tokens        = input_tokens + cache_read_input_tokens + cache_creation_input_tokens
//                         (every input token the model read, as OpenAI counts them)
//   cached_input_tokens = cache_read_input_tokens + cache_creation_input_tokens (part of input)
//   output_tokens       = output_tokens
//   reasoning_output_tokens = output_tokens_details.thinking_tokens (part of output)
//   total_tokens        = input_tokens + output_tokens (the sum of claude's four counts)
// Missing or non-integer fields count as 0.
TokenUsage UsageFromResult(const boost::json::object& usage);

}  // namespace codeswarm::worker::claude
