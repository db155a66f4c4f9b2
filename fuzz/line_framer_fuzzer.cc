// Fuzzes LineFramer with random bytes in random chunks, fed through both Feed and
// Prepare/Commit, and compares what it yields with a plain reference splitter over the whole
// input: the same lines in the same order, one kTooLong per over-long line, no line over the
// limit, and never more than the limit held back once Next() says it needs more bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "common/line_framer.h"

namespace {

using codeswarm::LineFramer;

constexpr std::string_view kTooLong = "\x01TOO_LONG";

// What a framer with limit `max` must yield for `input`; `*tail` is the unterminated rest.
std::vector<std::string> Reference(std::string_view input, std::size_t max,
                                   std::string_view* tail) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (true) {
    std::size_t newline = input.find('\n', start);
    if (newline == std::string_view::npos) break;
    std::string_view line = input.substr(start, newline - start);
    if (line.size() > max) {
      items.emplace_back(kTooLong);
    } else {
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      items.emplace_back(line);
    }
    start = newline + 1;
  }
  *tail = input.substr(start);
  if (tail->size() > max) items.emplace_back(kTooLong);
  return items;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  const std::size_t max = provider.ConsumeIntegralInRange<std::size_t>(0, 300);
  LineFramer framer(max);
  std::string input;
  std::vector<std::string> got;
  auto drain = [&] {
    while (auto item = framer.Next()) {
      if (item->kind == LineFramer::Item::Kind::kTooLong) {
        got.emplace_back(kTooLong);
      } else {
        FUZZ_CHECK(item->line.size() <= max, "a line longer than the limit");
        FUZZ_CHECK(item->line.find('\n') == std::string_view::npos, "a newline inside a line");
        got.emplace_back(item->line);
      }
    }
    FUZZ_CHECK(framer.buffered() <= max, "more than the limit held while waiting for bytes");
  };
  while (provider.remaining_bytes() > 0) {
    const bool use_prepare = provider.ConsumeBool();
    const std::size_t want = provider.ConsumeIntegralInRange<std::size_t>(0, 700);
    std::string chunk = provider.ConsumeBytesAsString(want);
    if (use_prepare) {
      // Ask for more room than is used, as a socket read does.
      const std::size_t room = chunk.size() + provider.ConsumeIntegralInRange<std::size_t>(0, 64);
      std::span<char> area = framer.Prepare(room);
      FUZZ_CHECK(area.size() >= room, "Prepare gave less room than asked for");
      if (!chunk.empty()) std::memcpy(area.data(), chunk.data(), chunk.size());
      framer.Commit(chunk.size());
    } else {
      framer.Feed(chunk);
    }
    input += chunk;
    if (provider.ConsumeBool()) drain();
  }
  drain();

  std::string_view tail;
  const std::vector<std::string> expected = Reference(input, max, &tail);
  FUZZ_CHECK(got == expected, "lines differ from splitting the whole input at newlines");
  const std::size_t held = tail.size() > max ? 0 : tail.size();
  FUZZ_CHECK(framer.buffered() == held, "bytes held differ from the unterminated tail");
  return 0;
}
