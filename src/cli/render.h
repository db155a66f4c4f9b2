// Human renderings of the router's answers: tables for `list` and `status`, one-line summaries
// of lifecycle events. Pure functions of the event data, so tests feed them literal JSON.
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace codeswarm::cli {

// Rows of cells, the first row being the headers, as columns aligned on the widest cell and
// separated by two spaces. No trailing spaces. Every row ends with "\n".
std::string RenderTable(const std::vector<std::vector<std::string>>& rows);

// Ascending ids with runs collapsed: {0,1,2,3,5} -> "0-3,5".
std::string FormatNodeList(std::vector<int64_t> ids);

// 30 -> "30", 0.5 -> "0.5".
std::string FormatSeconds(double seconds);

// An estimated cost in US dollars: "$0.0123", "$12.5000"; below a cent with more digits.
std::string FormatUsd(double usd);
// data[key] as dollars (FormatUsd), or "-" when absent or null (the model has no price).
std::string UsdCell(const boost::json::object& data, std::string_view key);

// The `swarm_list` answer's data as a table sorted by creation time, or "no swarms\n".
std::string RenderSwarmList(const boost::json::object& data);

// The key/value header of a `swarm_status` answer: swarm, status, backend, job, backend state
// and reason (when non-empty), agent, nodes, connected, created.
std::string RenderSwarmHeader(const boost::json::object& data);

// The header, a blank line and the table of nodes of a `swarm_status` answer.
std::string RenderSwarmStatus(const boost::json::object& data);

// One line for a swarm_update's data: "swarm s-1 pending (PENDING: Resources), nodes connected
// 0/4".
std::string FormatSwarmUpdate(const boost::json::object& data);

// The data of an `events_pruned` answer, for people: "events 5 to 41 are no longer in the
// router's journal (retention): those of them that belong here cannot be shown".
std::string FormatPruned(const boost::json::object& data);

// Swarm statuses after which nothing more happens.
bool IsFinalSwarmStatus(std::string_view status);

}  // namespace codeswarm::cli
