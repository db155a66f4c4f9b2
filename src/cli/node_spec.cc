#include "cli/node_spec.h"

#include <boost/json.hpp>

#include <algorithm>
#include <optional>
#include <string>

#include "common/text.h"

namespace codeswarm::cli {
namespace {

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Parses one node id; `part` is what the error message shows.
Result<int> ParseNodeId(std::string_view id, std::string_view part) {
  if (StartsWith(id, "-") && ParseInteger(id)) {
    return Status::InvalidArgument(Quoted(part) + " is negative; node ids start at 0");
  }
  std::optional<long long> value = ParseInteger(id);
  // Only digits: from_chars alone would accept a leading '-' that we handled above.
  if (!value || id.find_first_not_of("0123456789") != std::string_view::npos) {
    return Status::InvalidArgument(Quoted(part) +
                                   " is not a node id or range (expected e.g. 3 or 2-5)");
  }
  if (*value > kMaxNodeId) {
    return Status::InvalidArgument("node " + std::string(id) + " is too large (at most " +
                                   std::to_string(kMaxNodeId) + ")");
  }
  return static_cast<int>(*value);
}

// Appends the ids of one comma-separated part ("3" or "2-5") to `out`.
Status AppendPart(std::string_view part, std::vector<int>* out) {
  // A '-' after the first character separates a range; a leading one is a minus sign.
  std::size_t dash = part.find('-', 1);
  if (dash == std::string_view::npos) {
    Result<int> id = ParseNodeId(part, part);
    if (!id.ok()) return id.status();
    out->push_back(*id);
    return Status::Ok();
  }
  Result<int> first = ParseNodeId(TrimWhitespace(part.substr(0, dash)), part);
  if (!first.ok()) return first.status();
  Result<int> last = ParseNodeId(TrimWhitespace(part.substr(dash + 1)), part);
  if (!last.ok()) return last.status();
  if (*first > *last) {
    return Status::InvalidArgument("range " + Quoted(part) + " is reversed (write " +
                                   std::to_string(*last) + "-" + std::to_string(*first) + ")");
  }
  for (int id = *first; id <= *last; ++id) out->push_back(id);
  return Status::Ok();
}

}  // namespace

Result<NodeSpec> ParseNodeSpec(std::string_view text) {
  std::string_view trimmed = TrimWhitespace(text);
  if (trimmed.empty()) {
    return Status::InvalidArgument("empty (expected all, a node id, or a list such as 0,2-5)");
  }
  if (trimmed == "all") return NodeSpec{};

  std::vector<int> ids;
  for (std::string_view raw : SplitString(trimmed, ',')) {
    std::string_view part = TrimWhitespace(raw);
    if (part.empty()) return Status::InvalidArgument("empty part in " + Quoted(text));
    CODESWARM_RETURN_IF_ERROR(AppendPart(part, &ids));
  }
  std::vector<int> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  auto duplicate = std::adjacent_find(sorted.begin(), sorted.end());
  if (duplicate != sorted.end()) {
    return Status::InvalidArgument("node " + std::to_string(*duplicate) + " is listed twice");
  }
  bool single = ids.size() == 1 && trimmed.find_first_of(",-") == std::string_view::npos;
  return NodeSpec{single ? NodeSpec::Kind::kSingle : NodeSpec::Kind::kList, std::move(sorted)};
}

boost::json::value NodeSpecToJson(const NodeSpec& spec) {
  switch (spec.kind) {
    case NodeSpec::Kind::kAll:
      return "all";
    case NodeSpec::Kind::kSingle:
      return spec.nodes.front();
    case NodeSpec::Kind::kList:
      break;
  }
  boost::json::array list;
  for (int id : spec.nodes) list.push_back(id);
  return list;
}

}  // namespace codeswarm::cli
