// Fuzzes what the router runs on every line a client sends: ParseCommandLine (UTF-8, JSON,
// envelope, per-command payload). Invariants beyond "no crash":
//  - a rejection has a code with a name and a reason, and the command_rejected event the router
//    builds from it is valid JSON (valid UTF-8 included) that echoes a usable request_id;
//  - an accepted command is consistent (known name matching its kind and payload, request_id of
//    1..kMaxRequestIdBytes, nodes within the limits, node lists sorted without duplicates), and
//    re-serialized as a canonical command line it is accepted again, equal to itself.
#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/text.h"
#include "fuzz_check.h"
#include "protocol/client_protocol.h"
#include "same_json.h"

namespace {

namespace json = boost::json;
namespace protocol = codeswarm::protocol;
using protocol::Command;
using protocol::CommandKind;

constexpr protocol::ParseLimits kLimits{.max_nodes = 64};

bool IsValidUtf8(std::string_view text) { return !codeswarm::FindInvalidUtf8(text).has_value(); }

void CheckRejection(const protocol::Rejection& rejection) {
  std::string_view code = protocol::RejectCodeName(rejection.code);
  FUZZ_CHECK(!code.empty() && code != "rejected", "rejection code without a name");
  FUZZ_CHECK(!rejection.reason.empty(), "rejection without a reason");
  FUZZ_CHECK(IsValidUtf8(rejection.reason), "rejection reason is not valid UTF-8");
  if (rejection.request_id) {
    FUZZ_CHECK(!rejection.request_id->empty() &&
                   rejection.request_id->size() <= protocol::kMaxRequestIdBytes,
               "rejection echoes an unusable request_id");
    FUZZ_CHECK(IsValidUtf8(*rejection.request_id), "echoed request_id is not valid UTF-8");
  }
  if (rejection.command) {
    FUZZ_CHECK(IsValidUtf8(*rejection.command), "echoed command is not valid UTF-8");
  }
  // The data of the command_rejected event, as RouterCore::Reject builds it.
  json::object data;
  data["request_id"] = rejection.request_id ? json::value(*rejection.request_id) : nullptr;
  if (rejection.command) data["command"] = *rejection.command;
  data["code"] = code;
  data["reason"] = rejection.reason;
  json::error_code ec;
  json::value back = json::parse(json::serialize(data), ec);
  FUZZ_CHECK(!ec && back.is_object(), "command_rejected data does not parse back");
  FUZZ_CHECK(back.as_object() == data, "command_rejected data changes through JSON");
}

json::value NodesToJson(const protocol::NodeSelector& selector) {
  if (selector.all) return "all";
  json::array nodes;
  for (int node : selector.nodes) nodes.emplace_back(node);
  return nodes;
}

void CheckNodes(const protocol::NodeSelector& selector) {
  if (selector.all) {
    FUZZ_CHECK(selector.nodes.empty(), "\"all\" with a node list");
    return;
  }
  FUZZ_CHECK(!selector.nodes.empty(), "empty node list accepted");
  for (std::size_t i = 0; i < selector.nodes.size(); ++i) {
    FUZZ_CHECK(selector.nodes[i] >= 0 && selector.nodes[i] <= 1000000, "node id out of range");
    FUZZ_CHECK(i == 0 || selector.nodes[i - 1] < selector.nodes[i],
               "node list not sorted or with duplicates");
  }
}

// Checks the command's own consistency and returns its payload as the canonical JSON object.
json::object CheckCommand(const Command& command) {
  FUZZ_CHECK(
      !command.request_id.empty() && command.request_id.size() <= protocol::kMaxRequestIdBytes,
      "accepted request_id of a bad size");
  json::object payload;
  switch (command.kind) {
    case CommandKind::kSwarmLaunch: {
      FUZZ_CHECK(command.name == "swarm_launch", "name and kind disagree");
      const auto& launch = std::get<protocol::LaunchPayload>(command.payload);
      FUZZ_CHECK(launch.nodes >= 1 && launch.nodes <= kLimits.max_nodes, "nodes out of limits");
      payload["nodes"] = launch.nodes;
      payload["system_prompt"] = launch.system_prompt;
      if (!launch.agent_json.empty()) {
        json::error_code ec;
        json::value agent = json::parse(launch.agent_json, ec);
        FUZZ_CHECK(!ec && agent.is_object(), "agent override is not a JSON object");
        payload["agent"] = std::move(agent);
      }
      break;
    }
    case CommandKind::kInject: {
      FUZZ_CHECK(command.name == "inject", "name and kind disagree");
      const auto& inject = std::get<protocol::InjectPayload>(command.payload);
      FUZZ_CHECK(!inject.swarm_id.empty() && !inject.content.empty(), "empty inject field");
      CheckNodes(inject.nodes);
      payload["swarm_id"] = inject.swarm_id;
      payload["nodes"] = NodesToJson(inject.nodes);
      payload["content"] = inject.content;
      break;
    }
    case CommandKind::kInterrupt: {
      FUZZ_CHECK(command.name == "interrupt", "name and kind disagree");
      const auto& interrupt = std::get<protocol::InterruptPayload>(command.payload);
      FUZZ_CHECK(!interrupt.swarm_id.empty(), "empty swarm_id");
      CheckNodes(interrupt.nodes);
      payload["swarm_id"] = interrupt.swarm_id;
      payload["nodes"] = NodesToJson(interrupt.nodes);
      break;
    }
    case CommandKind::kSwarmList:
      FUZZ_CHECK(command.name == "swarm_list", "name and kind disagree");
      FUZZ_CHECK(std::holds_alternative<protocol::ListPayload>(command.payload), "wrong payload");
      break;
    case CommandKind::kSwarmStatus:
    case CommandKind::kSwarmTerminate: {
      FUZZ_CHECK(command.name == (command.kind == CommandKind::kSwarmStatus ? "swarm_status"
                                                                            : "swarm_terminate"),
                 "name and kind disagree");
      const auto& swarm = std::get<protocol::SwarmPayload>(command.payload);
      FUZZ_CHECK(!swarm.swarm_id.empty(), "empty swarm_id");
      payload["swarm_id"] = swarm.swarm_id;
      break;
    }
    case CommandKind::kSubscribe: {
      FUZZ_CHECK(command.name == "subscribe", "name and kind disagree");
      const auto& subscribe = std::get<protocol::SubscribePayload>(command.payload);
      payload["since_seq"] = subscribe.since_seq;
      if (!subscribe.swarm_id.empty()) payload["swarm_id"] = subscribe.swarm_id;
      break;
    }
  }
  return payload;
}

std::string CanonicalLine(const Command& command, json::object payload) {
  json::object envelope{{"protocol", protocol::kClientProtocol},
                        {"type", "command"},
                        {"command", command.name},
                        {"request_id", command.request_id},
                        {"payload", std::move(payload)}};
  return json::serialize(envelope);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  // Lines come from the LineFramer, which never yields one with a newline inside.
  if (line.find('\n') != std::string_view::npos) return 0;
  auto parsed = protocol::ParseCommandLine(line, kLimits);
  if (const auto* rejection = std::get_if<protocol::Rejection>(&parsed)) {
    CheckRejection(*rejection);
    return 0;
  }
  const Command& command = std::get<Command>(parsed);
  FUZZ_CHECK(IsValidUtf8(line), "accepted a line that is not valid UTF-8");
  const std::string canonical = CanonicalLine(command, CheckCommand(command));
  auto again = protocol::ParseCommandLine(canonical, kLimits);
  if (const auto* rejection = std::get_if<protocol::Rejection>(&again)) {
    std::fprintf(stderr, "canonical line %s rejected: %s\n", canonical.c_str(),
                 rejection->reason.c_str());
  }
  FUZZ_CHECK(std::holds_alternative<Command>(again), "re-serialized command is rejected");
  const Command& second = std::get<Command>(again);
  FUZZ_CHECK(second.kind == command.kind && second.name == command.name &&
                 second.request_id == command.request_id,
             "re-serialized command differs in its envelope");
  const std::string canonical_again = CanonicalLine(second, CheckCommand(second));
  if (canonical_again != canonical) {
    std::fprintf(stderr, "first:  %s\nsecond: %s\n", canonical.c_str(), canonical_again.c_str());
  }
  FUZZ_CHECK(codeswarm::fuzz::SameJsonText(canonical_again, canonical),
             "re-serialized command differs in its payload");
  return 0;
}
