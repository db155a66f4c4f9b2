// The journal's compact form (router/journal_codec.h): every line comes back byte for byte,
// the router's own lines take a fraction of their size, and damaged bytes are an error.
#include "router/journal_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "protocol/event_line.h"

namespace codeswarm::router {
namespace {

using Lines = std::vector<std::pair<uint64_t, std::string>>;

std::string Encode(const Lines& lines) {
  JournalChunkEncoder encoder;
  for (const auto& [seq, line] : lines) encoder.Add(seq, line);
  EXPECT_EQ(encoder.lines(), lines.size());
  return std::string(encoder.bytes());
}

Result<Lines> Decode(std::string_view chunk) {
  Lines out;
  std::string scratch;
  Status s = DecodeJournalChunk(chunk, scratch, [&](uint64_t seq, std::string_view line) {
    out.emplace_back(seq, std::string(line));
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

std::string Delta(uint64_t seq, int node, std::string_view injection, std::string_view text,
                  std::string_view timestamp = "2026-12-02T10:00:00.123Z") {
  std::string line;
  const std::string ids =
      R"("swarm_id":"s-4f2a","job_id":"local-81","node_id":)" + std::to_string(node);
  protocol::AppendRuntimeEventLine(line, seq, timestamp, "assistant_delta", ids, injection,
                                   R"({"delta":")" + std::string(text) + R"("})");
  return line;
}

// What 4 nodes streaming look like: their deltas interleaved, the clock ticking.
Lines Streaming(std::size_t count, uint64_t first_seq = 1000) {
  Lines lines;
  for (std::size_t i = 0; i < count; ++i) {
    const int node = static_cast<int>(i % 4);
    const std::string timestamp = "2026-12-02T10:00:00." + std::to_string(100 + i / 50) + "Z";
    lines.emplace_back(first_seq + i, Delta(first_seq + i, node, "i-" + std::to_string(node),
                                            "tok" + std::to_string(i), timestamp));
  }
  return lines;
}

TEST(JournalCodecTest, InterleavedNodesComeBackByteForByteInAFractionOfTheirSize) {
  const Lines lines = Streaming(2000);
  std::size_t raw = 0;
  for (const auto& [seq, line] : lines) raw += line.size() + 8;  // + the seq, as kept before
  const std::string chunk = Encode(lines);
  EXPECT_EQ(*Decode(chunk), lines);
  // ~14 bytes a line here against ~190: the envelope and the ids are written once per chunk.
  EXPECT_LT(chunk.size() * 8, raw) << chunk.size() << " of " << raw;
}

TEST(JournalCodecTest, LinesOfEveryOtherShapeAreKeptWhole) {
  std::string other_seq = Delta(5, 0, "i-1", "x");  // its text says seq 5
  std::string broadcast;
  protocol::AppendEventLine(broadcast, 9, "2026-12-02T10:00:00.124Z", "swarm_status",
                            R"({"swarm_id":"s-4f2a","status":"running","nodes":[0,1]})");
  const Lines lines = {
      {1, "e1.......\n"},
      {2, ""},
      {3, "no newline"},
      {4, std::string("nul \0 inside\n", 14)},
      {6, other_seq},
      {9, broadcast},
      {1ull << 62, Delta(1ull << 62, 2, "i-2", "far")},
  };
  EXPECT_EQ(*Decode(Encode(lines)), lines);
}

TEST(JournalCodecTest, HostileTextInTheDataComesBackExactly) {
  // Text that looks like the fields the codec splits at, quotes, escapes and non-ASCII.
  const Lines lines = {
      {1, Delta(1, 0, "i-1", R"(\"injection_id\":\"i-2\"})")},
      {2, Delta(2, 0, "i-1", R"(\"}\n{\"protocol\":\"x\")")},
      {3, Delta(3, 1, "i-1", "\xe2\x9c\x93 \\u0000 \\\\")},
      {4, Delta(4, 1, "i-1", "")},
  };
  std::string odd;
  protocol::AppendEventLine(odd, 5, "t", "e",
                            R"({"text":"\"injection_id\":\"","injection_id":"x"})");
  Lines all = lines;
  all.emplace_back(5, odd);
  EXPECT_EQ(*Decode(Encode(all)), all);
}

TEST(JournalCodecTest, ManyTimestampsEventsAndNodesBeyondWhatTheEncoderSearches) {
  Lines lines;
  for (uint64_t seq = 1; seq <= 300; ++seq) {
    // 40 nodes, each a new prefix; a timestamp per line; every so often an older one again.
    const int node = static_cast<int>((seq * 7) % 40);
    lines.emplace_back(seq, Delta(seq, node, "i-" + std::to_string(node), "t",
                                  "2026-12-02T10:00:" + std::to_string(seq % 60) + "Z"));
  }
  EXPECT_EQ(*Decode(Encode(lines)), lines);
}

TEST(JournalCodecTest, DecodingStopsWhenTold) {
  const std::string chunk = Encode(Streaming(10));
  std::vector<uint64_t> seen;
  std::string scratch;
  ASSERT_TRUE(DecodeJournalChunk(chunk, scratch, [&](uint64_t seq, std::string_view) {
                seen.push_back(seq);
                return seen.size() < 3;
              }).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{1000, 1001, 1002}));
}

TEST(JournalCodecTest, DamagedBytesAreAnErrorNeverAWrongLine) {
  const Lines lines = Streaming(40);
  const std::string chunk = Encode(lines);
  // Cut anywhere: either an error, or (cut between two lines) the lines before the cut.
  for (std::size_t size = 0; size < chunk.size(); ++size) {
    Result<Lines> decoded = Decode(chunk.substr(0, size));
    if (!decoded.ok()) {
      EXPECT_NE(decoded.status().message().find("journal chunk is damaged"), std::string::npos);
      continue;
    }
    ASSERT_LE(decoded->size(), lines.size());
    EXPECT_TRUE(std::equal(decoded->begin(), decoded->end(), lines.begin())) << size;
  }
  EXPECT_FALSE(Decode(std::string("\x02", 1)).ok());          // a format it does not know
  EXPECT_FALSE(Decode(std::string("\x01\x01\x07", 3)).ok());  // a kind of line it does not know
  // A reference to a timestamp the chunk never had.
  EXPECT_FALSE(Decode(std::string("\x01\x01\x01\x03", 4)).ok());
  // A length beyond the end, and a varint that never ends.
  EXPECT_FALSE(Decode(std::string("\x01\x01\x00\x7f"
                                  "abc",
                                  7))
                   .ok());
  EXPECT_FALSE(Decode(std::string("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11)).ok());
}

}  // namespace
}  // namespace codeswarm::router
