#include "cli/render.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <sstream>
#include <tuple>

#include "cli/event.h"

namespace codeswarm::cli {
namespace json = boost::json;

namespace {

// A table cell for any JSON value; absent, null and empty values show as "-".
std::string Cell(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return "-";
  if (value->is_string()) {
    return value->get_string().empty() ? "-" : std::string(value->get_string());
  }
  return json::serialize(*value);
}

}  // namespace

std::string RenderTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line.append(2, ' ');
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size(), ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);  // an empty last cell leaves padding behind
    out += line;
    out += '\n';
  }
  return out;
}

std::string FormatNodeList(std::vector<int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  std::string out;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(ids[i]);
    if (j > i) out += "-" + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

std::string FormatSeconds(double seconds) {
  std::ostringstream out;
  out << seconds;
  return out.str();
}

std::string FormatUsd(double usd) {
  char text[40];
  std::snprintf(text, sizeof text, usd != 0 && usd < 0.01 ? "$%.6f" : "$%.4f", usd);
  return text;
}

std::string UsdCell(const json::object& data, std::string_view key) {
  const json::value* value = data.if_contains(key);
  if (value == nullptr || !value->is_number()) return "-";
  return FormatUsd(value->to_number<double>());
}

std::string RenderSwarmList(const json::object& data) {
  const json::value* swarms_value = data.if_contains("swarms");
  if (swarms_value == nullptr || !swarms_value->is_object() || swarms_value->get_object().empty()) {
    return "no swarms\n";
  }
  struct Row {
    std::string created_at;
    std::string swarm_id;
    const json::object* swarm;
  };
  std::vector<Row> sorted;
  for (const auto& [swarm_id, swarm] : swarms_value->get_object()) {
    if (!swarm.is_object()) continue;
    sorted.push_back({std::string(StrField(swarm.get_object(), "created_at")),
                      std::string(swarm_id), &swarm.get_object()});
  }
  // ISO-8601 UTC timestamps sort as text; the id breaks ties so the order is stable.
  std::sort(sorted.begin(), sorted.end(), [](const Row& a, const Row& b) {
    return std::tie(a.created_at, a.swarm_id) < std::tie(b.created_at, b.swarm_id);
  });
  std::vector<std::vector<std::string>> rows = {
      {"SWARM", "STATUS", "NODES", "CONNECTED", "BACKEND", "JOB", "AGENT", "COST", "CREATED"}};
  for (const Row& row : sorted) {
    const json::object& s = *row.swarm;
    rows.push_back({row.swarm_id, Cell(s, "status"), Cell(s, "node_count"),
                    Cell(s, "nodes_connected"), Cell(s, "backend"), Cell(s, "job_id"),
                    Cell(s, "agent_kind"), UsdCell(s, "cost_usd"), Cell(s, "created_at")});
  }
  return RenderTable(rows);
}

std::string RenderSwarmHeader(const json::object& data) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"swarm", Cell(data, "swarm_id")},
      {"status", Cell(data, "status")},
      {"backend", Cell(data, "backend")},
      {"job", Cell(data, "job_id")},
  };
  if (!StrField(data, "backend_state").empty()) {
    fields.emplace_back("backend state", Cell(data, "backend_state"));
  }
  if (!StrField(data, "reason").empty()) fields.emplace_back("reason", Cell(data, "reason"));
  fields.emplace_back("agent", Cell(data, "agent_kind"));
  if (data.contains("model")) fields.emplace_back("model", Cell(data, "model"));
  if (data.contains("cost_usd")) {
    std::string_view note = StrField(data, "cost_note");
    fields.emplace_back("cost", UsdCell(data, "cost_usd") != "-"
                                    ? UsdCell(data, "cost_usd") + " (estimated)"
                                    : "unknown" + (note.empty() ? "" : ": " + std::string(note)));
  }
  fields.emplace_back("nodes", Cell(data, "node_count"));
  fields.emplace_back("connected", Cell(data, "nodes_connected"));
  fields.emplace_back("created", Cell(data, "created_at"));

  std::size_t width = 0;
  for (const auto& field : fields) width = std::max(width, field.first.size());
  std::string out;
  for (const auto& [label, value] : fields) {
    out += label + ":" + std::string(width - label.size() + 2, ' ') + value + "\n";
  }
  return out;
}

std::string RenderSwarmStatus(const json::object& data) {
  std::vector<std::vector<std::string>> rows = {
      {"NODE", "STATE", "QUEUED", "RUNNING", "TURNS", "TOKENS", "COST", "HOST"}};
  if (const json::value* nodes = data.if_contains("nodes"); nodes && nodes->is_array()) {
    for (const json::value& node : nodes->get_array()) {
      if (!node.is_object()) continue;
      const json::object& n = node.get_object();
      rows.push_back({Cell(n, "node_id"), Cell(n, "state"), Cell(n, "queued"),
                      Cell(n, "running_injection"), Cell(n, "turns_completed"),
                      Cell(n, "total_tokens"), UsdCell(n, "cost_usd"), Cell(n, "hostname")});
    }
  }
  return RenderSwarmHeader(data) + "\n" + RenderTable(rows);
}

std::string FormatSwarmUpdate(const json::object& data) {
  std::string line = "swarm " + Cell(data, "swarm_id") + " " + Cell(data, "status");
  std::string_view backend_state = StrField(data, "backend_state");
  std::string_view reason = StrField(data, "reason");
  if (!backend_state.empty() && !reason.empty()) {
    line += " (" + std::string(backend_state) + ": " + std::string(reason) + ")";
  } else if (!backend_state.empty() || !reason.empty()) {
    line += " (" + std::string(backend_state) + std::string(reason) + ")";
  }
  std::optional<int64_t> connected = IntField(data, "nodes_connected");
  std::optional<int64_t> count = IntField(data, "node_count");
  if (connected && count) {
    line += ", nodes connected " + std::to_string(*connected) + "/" + std::to_string(*count);
  }
  return line;
}

std::string FormatPruned(const boost::json::object& data) {
  auto seq = [&](std::string_view key) {
    std::optional<int64_t> value = IntField(data, key);
    return value ? std::to_string(*value) : std::string("?");
  };
  return "events " + seq("from_seq") + " to " + seq("to_seq") +
         " are no longer in the router's journal (retention): those of them that belong here "
         "cannot be shown";
}

bool IsFinalSwarmStatus(std::string_view status) {
  return status == "terminated" || status == "ended";
}

}  // namespace codeswarm::cli
