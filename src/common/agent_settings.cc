#include "common/agent_settings.h"

#include <boost/json.hpp>

#include "common/json_reader.h"

namespace codeswarm {
namespace json = boost::json;

const std::vector<std::string_view>& AgentKinds() {
  static const std::vector<std::string_view> kKinds = {"mock"};
  return kKinds;
}

namespace {

void ReadMock(JsonObjectReader& parent, MockAgentSettings* mock) {
  const json::object* object = parent.Object("mock");
  if (object == nullptr) return;
  JsonObjectReader r(*object, parent.PathOf("mock"), parent.errors());
  r.String("reply", &mock->reply);
  r.Int("chunks", 1, 1000000, &mock->chunks);
  r.Int("chunk_delay_ms", 0, 3600000, &mock->chunk_delay_ms);
  r.Enum("fail", {"none", "turn", "crash"}, &mock->fail);
  r.Int("fail_after_chunks", 0, 1000000, &mock->fail_after_chunks);
  r.Finish();
}

}  // namespace

Result<AgentSettings> ParseAgentSettings(const json::object& object, const std::string& path) {
  JsonErrors errors;
  AgentSettings settings;
  JsonObjectReader r(object, path, &errors);
  r.Enum("kind", AgentKinds(), &settings.kind);
  r.Number("turn_timeout_seconds", 0, 7 * 24 * 3600, &settings.turn_timeout_seconds);
  ReadMock(r, &settings.mock);
  r.Finish();
  if (!errors.empty()) return errors.ToStatus();
  return settings;
}

json::object MergeJsonObjects(const json::object& base, const json::object& override_with) {
  json::object merged = base;
  for (const auto& entry : override_with) {
    json::value* existing = merged.if_contains(entry.key());
    if (existing != nullptr && existing->is_object() && entry.value().is_object()) {
      *existing = MergeJsonObjects(existing->get_object(), entry.value().get_object());
    } else {
      merged[entry.key()] = entry.value();
    }
  }
  return merged;
}

}  // namespace codeswarm
