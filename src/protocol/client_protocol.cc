#include "protocol/client_protocol.h"

#include <boost/json.hpp>

#include <algorithm>

#include "common/json_reader.h"
#include "common/text.h"
#include "protocol/event_line.h"

namespace codeswarm::protocol {
namespace json = boost::json;

std::string_view RejectCodeName(RejectCode code) {
  switch (code) {
    case RejectCode::kLineTooLong: return "line_too_long";
    case RejectCode::kInvalidUtf8: return "invalid_utf8";
    case RejectCode::kInvalidJson: return "invalid_json";
    case RejectCode::kInvalidEnvelope: return "invalid_envelope";
    case RejectCode::kUnknownCommand: return "unknown_command";
    case RejectCode::kInvalidPayload: return "invalid_payload";
    case RejectCode::kUnknownSwarm: return "unknown_swarm";
    case RejectCode::kSwarmEnded: return "swarm_ended";
    case RejectCode::kLaunchFailed: return "launch_failed";
    case RejectCode::kBackendError: return "backend_error";
    case RejectCode::kShuttingDown: return "shutting_down";
    case RejectCode::kStorageFailing: return "storage_failing";
    case RejectCode::kUnknownApproval: return "unknown_approval";
    case RejectCode::kAlreadyDecided: return "already_decided";
    case RejectCode::kNodeUnreachable: return "node_unreachable";
  }
  return "rejected";
}

const std::vector<std::string_view>& CommandNames() {
  static const std::vector<std::string_view> kNames = {
      "swarm_launch", "inject", "interrupt", "swarm_list", "swarm_status", "swarm_terminate",
      "subscribe",    "approval_decide"};
  return kNames;
}

Result<std::vector<int>> NodeSelector::Resolve(int node_count, const std::string& swarm_id) const {
  std::vector<int> out;
  if (all) {
    for (int i = 0; i < node_count; ++i) out.push_back(i);
    return out;
  }
  for (int node : nodes) {
    if (node >= node_count) {
      return Status::InvalidArgument("payload.nodes: node " + std::to_string(node) +
                                     " is out of range (swarm " + swarm_id + " has nodes 0-" +
                                     std::to_string(node_count - 1) + ")");
    }
  }
  return nodes;
}

namespace {

// Turns a JsonErrors list into the rejection for this command.
Rejection PayloadRejection(const Command& command, const JsonErrors& errors) {
  return Rejection{command.request_id, command.name, RejectCode::kInvalidPayload,
                   errors.ToStatus().message()};
}

bool ParseNodeSelector(const json::value& value, NodeSelector* out, JsonErrors* errors) {
  auto fail = [&](const std::string& message) {
    errors->Add("payload.nodes: " + message);
    return false;
  };
  if (value.is_string()) {
    if (value.get_string() != "all") {
      return fail("expected \"all\", a node id or a list of node ids, got " +
                  DescribeJsonValue(value));
    }
    *out = NodeSelector{};
    return true;
  }
  std::vector<int> nodes;
  auto take = [&](const json::value& v, const std::string& where) {
    if (!v.is_int64() && !v.is_uint64()) {
      return fail(where + "expected a node id (integer), got " + DescribeJsonValue(v));
    }
    if (v.is_uint64() || v.get_int64() > 1000000) return fail(where + "node id too large");
    if (v.get_int64() < 0) {
      return fail(where + "node ids are not negative, got " + json::serialize(v));
    }
    int node = static_cast<int>(v.get_int64());
    if (std::find(nodes.begin(), nodes.end(), node) != nodes.end()) {
      return fail("duplicate node " + std::to_string(node));
    }
    nodes.push_back(node);
    return true;
  };
  if (value.is_array()) {
    const json::array& array = value.get_array();
    if (array.empty()) return fail("empty list (name at least one node, or use \"all\")");
    for (std::size_t i = 0; i < array.size(); ++i) {
      if (!take(array[i], "[" + std::to_string(i) + "]: ")) return false;
    }
  } else if (!take(value, "")) {
    return false;
  }
  std::sort(nodes.begin(), nodes.end());
  *out = NodeSelector{false, std::move(nodes)};
  return true;
}

std::optional<Rejection> ParseLaunch(const json::object& payload, const ParseLimits& limits,
                                     Command* command) {
  JsonErrors errors;
  JsonObjectReader r(payload, "payload", &errors);
  LaunchPayload launch;
  if (r.Require("nodes")) r.Int("nodes", 1, limits.max_nodes, &launch.nodes);
  r.String("system_prompt", &launch.system_prompt);
  if (const json::object* agent = r.Object("agent")) launch.agent_json = json::serialize(*agent);
  r.Finish();
  if (!errors.empty()) return PayloadRejection(*command, errors);
  command->payload = std::move(launch);
  return std::nullopt;
}

std::optional<Rejection> ParseInject(const json::object& payload, Command* command) {
  JsonErrors errors;
  JsonObjectReader r(payload, "payload", &errors);
  InjectPayload inject;
  if (r.Require("swarm_id")) r.NonEmptyString("swarm_id", &inject.swarm_id);
  if (const json::value* nodes = r.Raw("nodes")) ParseNodeSelector(*nodes, &inject.nodes, &errors);
  if (r.Require("content")) r.NonEmptyString("content", &inject.content);
  r.Finish();
  if (!errors.empty()) return PayloadRejection(*command, errors);
  command->payload = std::move(inject);
  return std::nullopt;
}

std::optional<Rejection> ParseInterrupt(const json::object& payload, Command* command) {
  JsonErrors errors;
  JsonObjectReader r(payload, "payload", &errors);
  InterruptPayload interrupt;
  if (r.Require("swarm_id")) r.NonEmptyString("swarm_id", &interrupt.swarm_id);
  if (const json::value* nodes = r.Raw("nodes")) {
    ParseNodeSelector(*nodes, &interrupt.nodes, &errors);
  }
  r.Finish();
  if (!errors.empty()) return PayloadRejection(*command, errors);
  command->payload = std::move(interrupt);
  return std::nullopt;
}

std::optional<Rejection> ParseSwarmPayload(const json::object& payload, Command* command) {
  JsonErrors errors;
  JsonObjectReader r(payload, "payload", &errors);
  SwarmPayload swarm;
  if (r.Require("swarm_id")) r.NonEmptyString("swarm_id", &swarm.swarm_id);
  r.Finish();
  if (!errors.empty()) return PayloadRejection(*command, errors);
  command->payload = std::move(swarm);
  return std::nullopt;
}

std::optional<Rejection> ParseList(const json::object& payload, Command* command) {
  JsonErrors errors;
  JsonObjectReader r(payload, "payload", &errors);
  r.Finish();
  if (!errors.empty()) return PayloadRejection(*command, errors);
  command->payload = ListPayload{};
  return std::nullopt;
}

std::optional<Rejection> ParseSubscribe(const json::object& payload, Command* command) {
  JsonErrors errors;
  JsonObjectReader r(payload, "payload", &errors);
  SubscribePayload subscribe;
  int64_t since = 0;
  if (r.Raw("since_seq") != nullptr && r.Int("since_seq", int64_t{0}, INT64_MAX, &since)) {
    subscribe.since_seq = static_cast<uint64_t>(since);
  }
  if (r.Raw("swarm_id") != nullptr) r.NonEmptyString("swarm_id", &subscribe.swarm_id);
  r.Finish();
  if (!errors.empty()) return PayloadRejection(*command, errors);
  command->payload = std::move(subscribe);
  return std::nullopt;
}

std::optional<Rejection> ParseApprovalDecide(const json::object& payload,
                                             const ParseLimits& limits, Command* command) {
  JsonErrors errors;
  JsonObjectReader r(payload, "payload", &errors);
  ApprovalDecidePayload decide;
  if (r.Require("swarm_id")) r.NonEmptyString("swarm_id", &decide.swarm_id);
  if (r.Require("node_id")) r.Int("node_id", 0, limits.max_nodes - 1, &decide.node_id);
  if (r.Require("approval_id") && r.NonEmptyString("approval_id", &decide.approval_id) &&
      (decide.approval_id.size() > 64 || !IsWireToken(decide.approval_id))) {
    errors.Add("payload.approval_id: expected an id such as \"a-0c1d2e3f4a5b\", got " +
               JsonQuote(Ellipsize(decide.approval_id, 70)));
  }
  if (r.Require("decision")) r.Enum("decision", {"accept", "decline"}, &decide.decision);
  r.Finish();
  if (!errors.empty()) return PayloadRejection(*command, errors);
  command->payload = std::move(decide);
  return std::nullopt;
}

Rejection EnvelopeError(std::optional<std::string> request_id, std::optional<std::string> command,
                        std::string reason) {
  return Rejection{std::move(request_id), std::move(command), RejectCode::kInvalidEnvelope,
                   std::move(reason)};
}

}  // namespace

std::variant<Command, Rejection> ParseCommandLine(std::string_view line,
                                                  const ParseLimits& limits) {
  if (auto bad = FindInvalidUtf8(line)) {
    return Rejection{std::nullopt, std::nullopt, RejectCode::kInvalidUtf8,
                     "line is not valid UTF-8 (byte " + std::to_string(*bad) + ")"};
  }
  if (TrimWhitespace(line).empty()) {
    return Rejection{std::nullopt, std::nullopt, RejectCode::kInvalidJson,
                     "empty line (expected a JSON command object)"};
  }
  json::error_code ec;
  json::value doc = json::parse(line, ec);
  if (ec) {
    return Rejection{std::nullopt, std::nullopt, RejectCode::kInvalidJson,
                     "not valid JSON: " + ec.message()};
  }
  if (!doc.is_object()) {
    return EnvelopeError(std::nullopt, std::nullopt,
                         "expected a JSON object, got " + DescribeJsonValue(doc));
  }
  const json::object& envelope = doc.get_object();

  // request_id and command first, so that every later rejection can name them.
  std::optional<std::string> request_id;
  const json::value* rid = envelope.if_contains("request_id");
  if (rid == nullptr) return EnvelopeError(std::nullopt, std::nullopt, "request_id: missing (required)");
  if (!rid->is_string()) {
    return EnvelopeError(std::nullopt, std::nullopt,
                         "request_id: expected a string, got " + DescribeJsonValue(*rid));
  }
  if (rid->get_string().empty() || rid->get_string().size() > kMaxRequestIdBytes) {
    return EnvelopeError(std::nullopt, std::nullopt,
                         "request_id: must be 1 to " + std::to_string(kMaxRequestIdBytes) +
                             " characters");
  }
  request_id = std::string(rid->get_string());

  std::optional<std::string> name;
  const json::value* cmd = envelope.if_contains("command");
  if (cmd != nullptr && cmd->is_string()) name = std::string(cmd->get_string());

  // Boost.JSON reads such a number as infinity and writes it back as `Infinity`, which is not
  // JSON; the agent override is stored and sent on as text.
  if (!AllNumbersFinite(doc)) {
    return Rejection{request_id, name, RejectCode::kInvalidJson,
                     "not valid JSON: a number is out of range (beyond the range of a double)"};
  }

  const json::value* protocol = envelope.if_contains("protocol");
  if (protocol == nullptr) {
    return EnvelopeError(request_id, name,
                         "protocol: missing (required; expected \"codeswarm.router.v1\")");
  }
  if (!protocol->is_string() || protocol->get_string() != kClientProtocol) {
    return EnvelopeError(request_id, name,
                         "protocol: expected \"codeswarm.router.v1\", got " +
                             DescribeJsonValue(*protocol));
  }
  const json::value* type = envelope.if_contains("type");
  if (type == nullptr) return EnvelopeError(request_id, name, "type: missing (required; expected \"command\")");
  if (!type->is_string() || type->get_string() != "command") {
    return EnvelopeError(request_id, name,
                         "type: expected \"command\", got " + DescribeJsonValue(*type));
  }
  if (cmd == nullptr) return EnvelopeError(request_id, std::nullopt, "command: missing (required)");
  if (!name) {
    return EnvelopeError(request_id, std::nullopt,
                         "command: expected a string, got " + DescribeJsonValue(*cmd));
  }
  const json::value* payload = envelope.if_contains("payload");
  if (payload == nullptr) {
    return EnvelopeError(request_id, name, "payload: missing (required; use {} for none)");
  }
  if (!payload->is_object()) {
    return EnvelopeError(request_id, name,
                         "payload: expected an object, got " + DescribeJsonValue(*payload));
  }

  Command command;
  command.name = *name;
  command.request_id = *request_id;
  const json::object& body = payload->get_object();
  std::optional<Rejection> rejection;
  if (*name == "swarm_launch") {
    command.kind = CommandKind::kSwarmLaunch;
    rejection = ParseLaunch(body, limits, &command);
  } else if (*name == "inject") {
    command.kind = CommandKind::kInject;
    rejection = ParseInject(body, &command);
  } else if (*name == "interrupt") {
    command.kind = CommandKind::kInterrupt;
    rejection = ParseInterrupt(body, &command);
  } else if (*name == "swarm_list") {
    command.kind = CommandKind::kSwarmList;
    rejection = ParseList(body, &command);
  } else if (*name == "swarm_status") {
    command.kind = CommandKind::kSwarmStatus;
    rejection = ParseSwarmPayload(body, &command);
  } else if (*name == "swarm_terminate") {
    command.kind = CommandKind::kSwarmTerminate;
    rejection = ParseSwarmPayload(body, &command);
  } else if (*name == "subscribe") {
    command.kind = CommandKind::kSubscribe;
    rejection = ParseSubscribe(body, &command);
  } else if (*name == "approval_decide") {
    command.kind = CommandKind::kApprovalDecide;
    rejection = ParseApprovalDecide(body, limits, &command);
  } else {
    std::string known;
    for (std::string_view n : CommandNames()) known += (known.empty() ? "" : ", ") + std::string(n);
    return Rejection{request_id, name, RejectCode::kUnknownCommand,
                     "unknown command " + JsonQuote(*name) + " (known: " + known + ")"};
  }
  if (rejection) return *rejection;
  return command;
}

}  // namespace codeswarm::protocol
