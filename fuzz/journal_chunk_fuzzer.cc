// Fuzzes the journal's compact form (router/journal_codec.h) two ways. Round trip: lines of any
// bytes and lines shaped as the router writes them (fields drawn from the input, so that the
// codec's split and its tables are exercised, not only whole lines) are encoded as one chunk and
// must decode to exactly the same seqs and bytes. Damage: the input itself read as a chunk must
// decode to an error or to lines, never outside its bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "protocol/event_line.h"
#include "router/journal_codec.h"

namespace {

using codeswarm::router::DecodeJournalChunk;
using codeswarm::router::JournalChunkEncoder;

// A line as the router builds it, from a few choices of each part (so that parts repeat, as
// they do in a stream) or bytes of the input.
std::string RouterLine(FuzzedDataProvider& provider, uint64_t seq) {
  auto pick = [&](std::vector<std::string> choices) {
    choices.push_back(provider.ConsumeRandomLengthString(40));
    return choices[provider.ConsumeIntegralInRange<std::size_t>(0, choices.size() - 1)];
  };
  const std::string timestamp = pick({"2026-12-02T10:00:00.123Z", "2026-12-02T10:00:00.124Z", "t"});
  const std::string event = pick({"assistant_delta", "usage", "turn_complete"});
  std::string line;
  if (provider.ConsumeBool()) {
    const std::string ids = pick({R"("swarm_id":"s-1","job_id":"j-1","node_id":0)",
                                  R"("swarm_id":"s-1","job_id":"j-1","node_id":1)"});
    const std::string injection = pick({"i-1", "i-2"});
    const std::string worker = "{" + pick({R"("delta":"x")", "", R"("injection_id":"z")"}) + "}";
    codeswarm::protocol::AppendRuntimeEventLine(line, seq, timestamp, event, ids, injection,
                                                worker);
  } else {
    codeswarm::protocol::AppendEventLine(line, seq, timestamp, event,
                                         pick({"{}", R"({"swarm_id":"s-1","nodes":[0,1]})"}));
  }
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string scratch;
  // Damage: any bytes as a chunk.
  std::size_t decoded = 0;
  (void)DecodeJournalChunk(std::string_view(reinterpret_cast<const char*>(data), size), scratch,
                           [&](uint64_t, std::string_view) { return ++decoded < 100000; });

  FuzzedDataProvider provider(data, size);
  std::vector<std::pair<uint64_t, std::string>> lines;
  uint64_t seq = provider.ConsumeIntegral<uint32_t>();
  while (provider.remaining_bytes() > 0 && lines.size() < 200) {
    seq += provider.ConsumeIntegralInRange<uint64_t>(1, 1000);
    lines.emplace_back(seq, provider.ConsumeBool() ? RouterLine(provider, seq)
                                                   : provider.ConsumeRandomLengthString(300));
  }
  JournalChunkEncoder encoder;
  for (const auto& [line_seq, line] : lines) encoder.Add(line_seq, line);
  FUZZ_CHECK(encoder.lines() == lines.size(), "the encoder counts a line per Add");
  std::size_t i = 0;
  const codeswarm::Status status =
      DecodeJournalChunk(encoder.bytes(), scratch, [&](uint64_t got_seq, std::string_view line) {
        FUZZ_CHECK(i < lines.size(), "more lines decoded than encoded");
        FUZZ_CHECK(got_seq == lines[i].first, "a seq decoded differs from the one encoded");
        FUZZ_CHECK(line == lines[i].second, "a line decoded differs from the one encoded");
        ++i;
        return true;
      });
  FUZZ_CHECK(lines.empty() || status.ok(), "a chunk the encoder wrote does not decode");
  FUZZ_CHECK(lines.empty() || i == lines.size(), "fewer lines decoded than encoded");
  return 0;
}
