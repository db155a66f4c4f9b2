// A Store that fails the calls a test chooses and forwards the rest to a real one, so the
// router's answers to a failing state database can be tested (leveldb's ErrorEnv, for Store).
#pragma once

#include <functional>
#include <optional>

#include "router/store.h"

namespace codeswarm::router::testing {

class FailingStore : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  Status SaveSwarm(const SwarmRecord& record) override {
    ++save_calls;
    if (fail_save) {
      if (std::optional<Status> error = fail_save(record)) return *error;
    }
    return ForwardingStore::SaveSwarm(record);
  }
  Result<std::vector<SwarmRecord>> LoadSwarms() override {
    if (load_error) return *load_error;
    return ForwardingStore::LoadSwarms();
  }
  Result<uint64_t> ReserveSeq(uint64_t count) override {
    ++reserve_calls;
    if (reserve_error) return *reserve_error;
    return ForwardingStore::ReserveSeq(count);
  }
  Status AppendJournal(const std::vector<JournalEntry>& entries,
                       const std::vector<NodeMark>& marks, const NodeChanges& changes) override {
    ++append_calls;
    if (append_error) return *append_error;
    return ForwardingStore::AppendJournal(entries, marks, changes);
  }

  // Decides per SaveSwarm call: the error to return instead of saving, or nullopt to save.
  std::function<std::optional<Status>(const SwarmRecord&)> fail_save;
  // While set, every LoadSwarms / ReserveSeq call fails with it.
  std::optional<Status> load_error;
  std::optional<Status> reserve_error;
  // While set, every AppendJournal call fails with it and writes nothing.
  std::optional<Status> append_error;
  int save_calls = 0;
  int reserve_calls = 0;
  int append_calls = 0;
};

// A fail_save that fails every save of a record with this status ("running", "ended", ...).
inline std::function<std::optional<Status>(const SwarmRecord&)> FailSavesWithStatus(
    std::string status, Status error) {
  return [status = std::move(status),
          error = std::move(error)](const SwarmRecord& record) -> std::optional<Status> {
    if (record.status == status) return error;
    return std::nullopt;
  };
}

}  // namespace codeswarm::router::testing
