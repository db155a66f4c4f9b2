// The journal's compact form of a run of event lines (one chunk of the SQLite journal).
//
// An assistant_delta line is ~250 bytes for a few bytes of text: the envelope, the seq, the
// timestamp and the node's ids around it. A chunk keeps each line as its seq (the difference
// from the one before), references to the timestamp, the event name and the data's leading id
// fields (up to its "injection_id", as the router puts them before a worker's fields) — each
// written once per chunk and referred to by how far back it was — and the rest of the data
// verbatim. A line of any other shape is kept whole. Decoding rebuilds every line byte for
// byte, so a replay is what the clients got live.
//
// Format (version 1): the byte 0x01, then per line: varint seq delta; 0x00 varint length,
// bytes (a line kept whole) or 0x01 ref timestamp, ref event, ref prefix, varint length, bytes
// (the data after its prefix). A ref is varint 0 followed by varint length and the bytes of a
// new string (which joins that table), or n >= 1: the n-th newest string of the table.
// Varints are LEB128.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace codeswarm::router {

class JournalChunkEncoder {
 public:
  // Starts a new chunk; the buffers' memory is kept for the next one.
  void Clear();
  // Appends `line` (newline included) with its `seq`. REQUIRES: seqs increase within a chunk.
  void Add(uint64_t seq, std::string_view line);
  std::string_view bytes() const { return out_; }
  std::size_t lines() const { return lines_; }

 private:
  // Where the strings already in the chunk are in out_, oldest first.
  struct Span {
    std::size_t offset = 0;
    std::size_t size = 0;
  };
  using Table = std::vector<Span>;
  std::string_view View(Span span) const { return {out_.data() + span.offset, span.size}; }
  // Writes a ref to `s` in `table`: to a copy already in the chunk when it is among the newest
  // few, else a new string.
  void AppendRef(Table& table, std::string_view s);
  // How much of `data` a table prefix covers: the longest of the newest few the data starts
  // with, else the data up to its "injection_id" value (empty when it has none).
  std::string_view PrefixOf(std::string_view data) const;

  std::string out_;
  std::size_t lines_ = 0;
  uint64_t last_seq_ = 0;
  Table timestamps_;
  Table events_;
  Table prefixes_;
};

// Calls `line_fn(seq, line)` for each line of `chunk`, in order; stops early (Ok) when it
// returns false. `scratch` holds the line being rebuilt (its memory is reused). An error when
// the bytes are not a chunk of this format (cut short, a ref to nothing): the database is
// damaged, nothing is guessed.
Status DecodeJournalChunk(std::string_view chunk, std::string& scratch,
                          const std::function<bool(uint64_t seq, std::string_view line)>& line_fn);

}  // namespace codeswarm::router
