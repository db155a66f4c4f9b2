// The worker protocol codeswarm.worker.v1 as data: line formats and message bodies shared by the
// router and `codeswarm worker`. Pure: no I/O. See docs/WORKER_PROTOCOL.md.
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace codeswarm::protocol {

// v2: carried inside TLS 1.3 keyed by the swarm secret (common/channel_tls.h); hello no longer
// carries the secret.
inline constexpr std::string_view kWorkerProtocol = "codeswarm.worker.v2";

// Hello lines arrive before authentication, so they get a small limit of their own.
inline constexpr std::size_t kMaxHelloLineBytes = 256 * 1024;

// Runtime event names a worker may send. Anything else is refused, so a worker can never make
// the router emit one of its own events (inject_ack, swarm_update, ...).
bool IsRuntimeEventName(std::string_view name);

// "verb {json}" split at the first space.
struct WorkerLine {
  std::string_view verb;
  std::string_view body;
};
Result<WorkerLine> SplitWorkerLine(std::string_view line);

// "event <seq> <injection_id> <event> <data>" (the part after the verb).
struct EventLine {
  uint64_t seq = 0;
  std::string_view injection_id;
  std::string_view event;
  std::string_view data;  // a JSON object
};
// Checks the header tokens and that data is one JSON object (without building a tree).
Result<EventLine> ParseEventBody(std::string_view body);

// "<verb> <json>\n"
std::string FormatMessage(std::string_view verb, const boost::json::object& body);
// "event <seq> <injection_id> <event> <data>\n"
std::string FormatEventMessage(uint64_t seq, std::string_view injection_id,
                               std::string_view event, std::string_view data_json);

// An approval_request the worker's agent still waits on: listed in hello so that a router that
// restarted (or a new connection) can still forward a person's decision.
struct PendingApproval {
  std::string approval_id;
  std::string injection_id;
  std::string kind;     // as in its approval_request
  std::string subject;
  bool operator==(const PendingApproval&) const = default;
};

struct Hello {
  std::string swarm_id;
  int node_id = 0;
  std::string instance;
  int64_t pid = 0;
  std::string hostname;
  std::string version;
  std::vector<std::string> holding;
  std::vector<PendingApproval> approvals;
};
Result<Hello> ParseHello(std::string_view body);
boost::json::object HelloToJson(const Hello& hello);

struct Welcome {
  uint64_t ack_seq = 0;
  std::string system_prompt;
  std::string agent_json = "{}";  // serialized object
  double heartbeat_seconds = 5;
  double timeout_seconds = 20;
};
Result<Welcome> ParseWelcome(std::string_view body);
boost::json::object WelcomeToJson(const Welcome& welcome);

struct Inject {
  std::string injection_id;
  std::string content;
};
Result<Inject> ParseInject(std::string_view body);

// "approval_decide {"approval_id":…,"decision":"accept"|"decline"}": a person's answer the
// router forwards to the worker.
struct ApprovalDecision {
  std::string approval_id;
  std::string decision;
};
Result<ApprovalDecision> ParseApprovalDecision(std::string_view body);
boost::json::object ApprovalDecisionToJson(const ApprovalDecision& decision);

// Reads a single string / integer field of a small message body ("received", "ack", "reject",
// "bye", "interrupt").
Result<std::string> ParseStringField(std::string_view body, std::string_view key);
Result<uint64_t> ParseSeqField(std::string_view body, std::string_view key);

}  // namespace codeswarm::protocol
