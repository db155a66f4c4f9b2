// The journal tests' fixture: RouterCoreTest plus subscribing, what one client got, the
// broadcast seqs and the journal's rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "unit/router_core_fixture.h"

namespace codeswarm::router::testing {

inline constexpr ClientId kLate = 8;

inline std::string Delta(const std::string& injection, uint64_t seq, const std::string& text) {
  return "event " + std::to_string(seq) + " " + injection + R"( assistant_delta {"delta":")" +
         text + "\"}";
}

class JournalTest : public RouterCoreTest {
 protected:
  std::string Subscribe(ClientId client, const std::string& payload, const std::string& rid = "s") {
    core_->OnClientLine(client, Command("subscribe", payload, rid));
    return rid;
  }
  // What went to `client` alone, in order.
  std::vector<json::object> To(ClientId client) const {
    std::vector<json::object> out;
    for (const SentLine& l : clients_.lines) {
      if (l.to == client) out.push_back(l.event);
    }
    return out;
  }
  // Seqs of the broadcast lines, in order.
  std::vector<int64_t> BroadcastSeqs() const {
    std::vector<int64_t> out;
    for (const SentLine& l : clients_.lines) {
      if (!l.to) out.push_back(l.event.at("seq").as_int64());
    }
    return out;
  }
  // Injects into `swarm` and has its node 0 acknowledge receipt; returns the injection id.
  std::string InjectTakenByNode0(const std::string& swarm) {
    std::string injection = Inject(swarm);
    WorkerSays(swarm, 0, R"(received {"injection_id":")" + injection + "\"}");
    return injection;
  }
  std::vector<JournalRow> Journal() {
    return *memory_store_->ReadJournal(0, UINT64_MAX, "", 1 << 20);
  }
};

inline std::vector<int64_t> SeqsOf(const std::vector<json::object>& events) {
  std::vector<int64_t> out;
  for (const json::object& e : events) {
    if (e.contains("seq")) out.push_back(e.at("seq").as_int64());
  }
  return out;
}

}  // namespace codeswarm::router::testing
