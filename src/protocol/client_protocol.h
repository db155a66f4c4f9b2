// The client protocol codeswarm.router.v1 as data: parsing and validating command lines, and the
// names of rejection codes. Pure: no I/O, no router state. See docs/PROTOCOL.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace codeswarm::protocol {

inline constexpr std::string_view kClientProtocol = "codeswarm.router.v1";
inline constexpr std::size_t kMaxRequestIdBytes = 256;

enum class RejectCode {
  kLineTooLong,
  kInvalidUtf8,
  kInvalidJson,
  kInvalidEnvelope,
  kUnknownCommand,
  kInvalidPayload,
  kUnknownSwarm,
  kSwarmEnded,
  kLaunchFailed,
  kBackendError,
  kShuttingDown,
  kStorageFailing,
  kUnknownApproval,
  kAlreadyDecided,
  kNodeUnreachable,
};

std::string_view RejectCodeName(RejectCode code);

struct Rejection {
  std::optional<std::string> request_id;  // when the line carried a usable one
  std::optional<std::string> command;     // when known
  RejectCode code = RejectCode::kInvalidEnvelope;
  std::string reason;
};

// `nodes` of inject: "all", one node, or a list (validated: non-empty, no negatives, no
// duplicates; sorted). Ranges are checked against a swarm by Resolve.
struct NodeSelector {
  bool all = true;
  std::vector<int> nodes;

  // The node ids selected in a swarm of `node_count` nodes, ascending, or an error naming the
  // first node out of range.
  Result<std::vector<int>> Resolve(int node_count, const std::string& swarm_id) const;
};

struct LaunchPayload {
  int nodes = 0;
  std::string system_prompt;
  // The `agent` override object, serialized; empty when absent.
  std::string agent_json;
};

struct InjectPayload {
  std::string swarm_id;
  NodeSelector nodes;
  std::string content;
};

struct SwarmPayload {  // swarm_status, swarm_terminate
  std::string swarm_id;
};

struct InterruptPayload {
  std::string swarm_id;
  NodeSelector nodes;
};

struct ListPayload {};

// subscribe: replay journaled events with seq > since_seq (0 when absent: all that is kept),
// of one swarm when swarm_id is not empty, then continue live.
struct SubscribePayload {
  uint64_t since_seq = 0;
  std::string swarm_id;
};

// approval_decide: a person's answer to a pending approval_request of one node.
struct ApprovalDecidePayload {
  std::string swarm_id;
  int node_id = 0;
  std::string approval_id;
  std::string decision;  // "accept" or "decline"
};

enum class CommandKind {
  kSwarmLaunch,
  kInject,
  kInterrupt,
  kSwarmList,
  kSwarmStatus,
  kSwarmTerminate,
  kSubscribe,
  kApprovalDecide,
};

struct Command {
  CommandKind kind = CommandKind::kSwarmList;
  std::string name;
  std::string request_id;
  std::variant<LaunchPayload, InjectPayload, InterruptPayload, SwarmPayload, ListPayload,
               SubscribePayload, ApprovalDecidePayload>
      payload;
};

struct ParseLimits {
  int max_nodes = 256;
};

// Parses one command line (without its newline). Returns the command, or the rejection to send
// back with a reason precise enough to fix the line.
std::variant<Command, Rejection> ParseCommandLine(std::string_view line, const ParseLimits& limits);

// The command names, in documentation order.
const std::vector<std::string_view>& CommandNames();

}  // namespace codeswarm::protocol
