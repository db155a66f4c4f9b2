// Serialization of router → client event lines. Built by appending into one string so that a
// runtime event from a worker is spliced into its envelope without being parsed: the worker's
// `data` object is copied as bytes after the ids the router adds. See docs/PROTOCOL.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace codeswarm::protocol {

// Appends one complete event line, newline included:
// {"protocol":"codeswarm.router.v1","type":"event","seq":S,"timestamp":"T","event":"E","data":D}
// `seq` is left out when absent (answers to one client). REQUIRES: `data_json` is a JSON object.
void AppendEventLine(std::string& out, std::optional<uint64_t> seq, std::string_view timestamp,
                     std::string_view event, std::string_view data_json);

// Appends a runtime event line whose data is `ids_json_fields` (the router's id fields, e.g.
// `"swarm_id":"s-1","job_id":"j","node_id":0`), then "injection_id", then the fields of
// `worker_data` (a JSON object from the worker, copied verbatim).
// REQUIRES: event, injection_id match [A-Za-z0-9_.-]+; worker_data is a valid JSON object.
void AppendRuntimeEventLine(std::string& out, uint64_t seq, std::string_view timestamp,
                            std::string_view event, std::string_view ids_json_fields,
                            std::string_view injection_id, std::string_view worker_data);

// The parts of an event line that AppendEventLine puts together, as views into the line.
struct EventLineParts {
  uint64_t seq = 0;
  std::string_view timestamp;
  std::string_view event;
  std::string_view data;  // the data object's bytes, exactly as in the line
};

// Splits a line with a seq that AppendEventLine (or AppendRuntimeEventLine) built, newline
// included, so that AppendEventLine(out, parts.seq, parts.timestamp, parts.event, parts.data)
// appends exactly `line` again. Nullopt for any other line (no seq, another layout, no newline).
std::optional<EventLineParts> SplitEventLine(std::string_view line);

// True when `token` is non-empty and only [A-Za-z0-9_.-] (ids and event names on the wire).
bool IsWireToken(std::string_view token);

}  // namespace codeswarm::protocol
