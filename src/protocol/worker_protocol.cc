#include "protocol/worker_protocol.h"

#include <boost/json.hpp>

#include <array>

#include "common/json_reader.h"
#include "common/text.h"
#include "protocol/event_line.h"

namespace codeswarm::protocol {
namespace json = boost::json;

bool IsRuntimeEventName(std::string_view name) {
  static constexpr std::array<std::string_view, 7> kNames = {
      "turn_started", "assistant_delta",  "assistant",    "usage",
      "approval",     "approval_request", "turn_complete"};
  for (std::string_view n : kNames) {
    if (n == name) return true;
  }
  return false;
}

Result<WorkerLine> SplitWorkerLine(std::string_view line) {
  std::size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0) {
    return Status::InvalidArgument("malformed line (expected \"<verb> <json>\")");
  }
  return WorkerLine{line.substr(0, space), line.substr(space + 1)};
}

Result<EventLine> ParseEventBody(std::string_view body) {
  EventLine event;
  std::string_view rest = body;
  auto next_token = [&](std::string_view* token) {
    std::size_t space = rest.find(' ');
    if (space == std::string_view::npos) return false;
    *token = rest.substr(0, space);
    rest = rest.substr(space + 1);
    return true;
  };
  std::string_view seq;
  if (!next_token(&seq) || !next_token(&event.injection_id) || !next_token(&event.event)) {
    return Status::InvalidArgument("malformed event line");
  }
  auto parsed_seq = ParseInteger(seq);
  if (!parsed_seq || *parsed_seq <= 0) return Status::InvalidArgument("bad event seq");
  event.seq = static_cast<uint64_t>(*parsed_seq);
  if (!IsWireToken(event.injection_id)) return Status::InvalidArgument("bad injection id");
  if (!IsRuntimeEventName(event.event)) {
    return Status::InvalidArgument("unknown runtime event \"" + Ellipsize(event.event, 40) + "\"");
  }
  event.data = TrimWhitespace(rest);
  if (event.data.empty() || event.data.front() != '{' || event.data.back() != '}') {
    return Status::InvalidArgument("event data is not a JSON object");
  }
  // The router splices data after the ids it adds; a worker's copy of one would make the client's
  // line carry the key twice, and most JSON readers keep the worker's.
  static constexpr std::array<std::string_view, 4> kRouterKeys = {"swarm_id", "job_id", "node_id",
                                                                  "injection_id"};
  if (Status s = ValidateJson(event.data, kRouterKeys); !s.ok()) {
    return Status::InvalidArgument("event data: " + s.message());
  }
  return event;
}

std::string FormatMessage(std::string_view verb, const json::object& body) {
  std::string line(verb);
  line += ' ';
  line += json::serialize(body);
  line += '\n';
  return line;
}

std::string FormatEventMessage(uint64_t seq, std::string_view injection_id,
                               std::string_view event, std::string_view data_json) {
  std::string line = "event ";
  line += std::to_string(seq);
  line += ' ';
  line += injection_id;
  line += ' ';
  line += event;
  line += ' ';
  line += data_json;
  line += '\n';
  return line;
}

Result<Hello> ParseHello(std::string_view body) {
  Result<json::object> object = ParseJsonObject(body);
  if (!object.ok()) return object.status();
  JsonErrors errors;
  JsonObjectReader r(*object, "hello", &errors);
  Hello hello;
  std::string protocol;
  if (r.Require("protocol") && r.String("protocol", &protocol) && protocol != kWorkerProtocol) {
    return Status::InvalidArgument("worker protocol " + JsonQuote(protocol) +
                                   " not supported (this router speaks " +
                                   std::string(kWorkerProtocol) + ")");
  }
  if (r.Require("swarm_id")) r.NonEmptyString("swarm_id", &hello.swarm_id);
  if (r.Require("node_id")) r.Int("node_id", 0, 1000000, &hello.node_id);
  if (r.Require("instance")) r.NonEmptyString("instance", &hello.instance);
  r.Int("pid", int64_t{0}, int64_t{1} << 40, &hello.pid);
  r.String("hostname", &hello.hostname);
  r.String("version", &hello.version);
  r.StringList("holding", &hello.holding);
  if (const json::value* approvals = r.Raw("approvals")) {
    if (!approvals->is_array()) {
      errors.Add("hello.approvals: expected a list");
    } else {
      for (const json::value& entry : approvals->get_array()) {
        const json::object* pending = entry.if_object();
        const json::value* id = pending ? pending->if_contains("approval_id") : nullptr;
        const json::value* injection = pending ? pending->if_contains("injection_id") : nullptr;
        if (id == nullptr || !id->is_string() || !IsWireToken(id->get_string()) ||
            injection == nullptr || !injection->is_string() ||
            !IsWireToken(injection->get_string())) {
          errors.Add("hello.approvals: expected {approval_id, injection_id} objects of ids");
          break;
        }
        PendingApproval waiting{std::string(id->get_string()),
                                std::string(injection->get_string()), "", ""};
        if (const json::value* v = pending->if_contains("kind"); v && v->is_string()) {
          waiting.kind = std::string(v->get_string());
        }
        if (const json::value* v = pending->if_contains("subject"); v && v->is_string()) {
          waiting.subject = std::string(v->get_string());
        }
        hello.approvals.push_back(std::move(waiting));
      }
    }
  }
  // Later versions may add fields: the hello is the place a newer worker says more.
  if (!errors.empty()) return errors.ToStatus();
  for (const std::string& id : hello.holding) {
    if (!IsWireToken(id)) return Status::InvalidArgument("hello.holding: bad injection id");
  }
  return hello;
}

json::object HelloToJson(const Hello& hello) {
  json::array holding;
  for (const std::string& id : hello.holding) holding.emplace_back(id);
  json::object out{{"protocol", kWorkerProtocol}, {"swarm_id", hello.swarm_id},
                   {"node_id", hello.node_id},
                   {"instance", hello.instance},  {"pid", hello.pid},
                   {"hostname", hello.hostname},  {"version", hello.version},
                   {"holding", std::move(holding)}};
  if (!hello.approvals.empty()) {
    json::array approvals;
    for (const PendingApproval& a : hello.approvals) {
      approvals.push_back(json::object{{"approval_id", a.approval_id},
                                       {"injection_id", a.injection_id},
                                       {"kind", a.kind},
                                       {"subject", a.subject}});
    }
    out["approvals"] = std::move(approvals);
  }
  return out;
}

Result<Welcome> ParseWelcome(std::string_view body) {
  Result<json::object> object = ParseJsonObject(body);
  if (!object.ok()) return object.status();
  JsonErrors errors;
  JsonObjectReader r(*object, "welcome", &errors);
  Welcome welcome;
  std::string protocol;
  if (r.Require("protocol") && r.String("protocol", &protocol) && protocol != kWorkerProtocol) {
    return Status::InvalidArgument("router speaks worker protocol " + JsonQuote(protocol) +
                                   ", this worker " + std::string(kWorkerProtocol));
  }
  int64_t ack = 0;
  r.Int("ack_seq", int64_t{0}, INT64_MAX, &ack);
  welcome.ack_seq = static_cast<uint64_t>(ack);
  r.String("system_prompt", &welcome.system_prompt);
  if (const json::object* agent = r.Object("agent")) welcome.agent_json = json::serialize(*agent);
  r.Number("heartbeat_seconds", 0.01, 86400, &welcome.heartbeat_seconds);
  r.Number("timeout_seconds", 0.02, 86400, &welcome.timeout_seconds);
  if (!errors.empty()) return errors.ToStatus();
  return welcome;
}

json::object WelcomeToJson(const Welcome& welcome) {
  json::value agent = json::parse(welcome.agent_json);
  return json::object{{"protocol", kWorkerProtocol},
                      {"ack_seq", welcome.ack_seq},
                      {"system_prompt", welcome.system_prompt},
                      {"agent", std::move(agent)},
                      {"heartbeat_seconds", welcome.heartbeat_seconds},
                      {"timeout_seconds", welcome.timeout_seconds}};
}

Result<Inject> ParseInject(std::string_view body) {
  Result<json::object> object = ParseJsonObject(body);
  if (!object.ok()) return object.status();
  JsonErrors errors;
  JsonObjectReader r(*object, "inject", &errors);
  Inject inject;
  if (r.Require("injection_id")) r.NonEmptyString("injection_id", &inject.injection_id);
  if (r.Require("content")) r.String("content", &inject.content);
  if (!errors.empty()) return errors.ToStatus();
  if (!IsWireToken(inject.injection_id)) return Status::InvalidArgument("bad injection id");
  return inject;
}

Result<ApprovalDecision> ParseApprovalDecision(std::string_view body) {
  Result<json::object> object = ParseJsonObject(body);
  if (!object.ok()) return object.status();
  JsonErrors errors;
  JsonObjectReader r(*object, "approval_decide", &errors);
  ApprovalDecision decision;
  if (r.Require("approval_id")) r.NonEmptyString("approval_id", &decision.approval_id);
  if (r.Require("decision")) r.Enum("decision", {"accept", "decline"}, &decision.decision);
  if (!errors.empty()) return errors.ToStatus();
  if (!IsWireToken(decision.approval_id)) return Status::InvalidArgument("bad approval id");
  return decision;
}

json::object ApprovalDecisionToJson(const ApprovalDecision& decision) {
  return json::object{{"approval_id", decision.approval_id}, {"decision", decision.decision}};
}

Result<std::string> ParseStringField(std::string_view body, std::string_view key) {
  Result<json::object> object = ParseJsonObject(body);
  if (!object.ok()) return object.status();
  const json::value* v = object->if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return Status::InvalidArgument(std::string(key) + ": expected a string");
  }
  return std::string(v->get_string());
}

Result<uint64_t> ParseSeqField(std::string_view body, std::string_view key) {
  Result<json::object> object = ParseJsonObject(body);
  if (!object.ok()) return object.status();
  const json::value* v = object->if_contains(key);
  if (v == nullptr || !v->is_int64() || v->get_int64() < 0) {
    return Status::InvalidArgument(std::string(key) + ": expected a non-negative integer");
  }
  return static_cast<uint64_t>(v->get_int64());
}

}  // namespace codeswarm::protocol
