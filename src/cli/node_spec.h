// The `--nodes` argument of `codeswarm inject`: which nodes of a swarm get the prompt. Checked
// before anything is sent, so that a typo never reaches the router as a different selection.
#pragma once

#include <boost/json/fwd.hpp>

#include <string_view>
#include <vector>

#include "common/status.h"

namespace codeswarm::cli {

// Node ids are below router.max_nodes, which the config caps at 100000.
inline constexpr int kMaxNodeId = 99999;

struct NodeSpec {
  enum class Kind { kAll, kSingle, kList };
  Kind kind = Kind::kAll;
  // kSingle: exactly one id; kList: ascending, without duplicates, non-empty; kAll: empty.
  std::vector<int> nodes;
};

// Grammar: "all" | INT | PART ("," PART)* where PART is INT or INT "-" INT (inclusive, a <= b).
// Spaces around parts are allowed. Rejects empty parts, negative or non-numeric ids, ids above
// kMaxNodeId, reversed ranges and ids listed twice, with a message naming the culprit.
Result<NodeSpec> ParseNodeSpec(std::string_view text);

// The value of inject's payload.nodes: "all", an integer, or a sorted list of integers.
boost::json::value NodeSpecToJson(const NodeSpec& spec);

}  // namespace codeswarm::cli
