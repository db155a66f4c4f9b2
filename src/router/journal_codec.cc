#include "router/journal_codec.h"

#include <algorithm>
#include <optional>

#include "protocol/event_line.h"

namespace codeswarm::router {

namespace {

constexpr char kFormat = 0x01;
constexpr char kWhole = 0x00;
constexpr char kSplit = 0x01;
// How many of a table's newest strings the encoder compares: a chunk is one swarm's events of
// a few milliseconds, so the timestamps, event names and nodes' prefixes in play are few; an
// older one is written again rather than searched for.
constexpr std::size_t kSearchDepth = 16;
// The field whose value ends the prefix the router puts before a worker's fields.
constexpr std::string_view kInjectionField = R"("injection_id":")";

void AppendVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
}

void AppendString(std::string& out, std::string_view s) {
  AppendVarint(out, s.size());
  out += s;
}

// Reads what the encoder wrote; every read checks what is left, so damaged bytes end in an
// error, never outside the chunk.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  bool done() const { return rest_.empty(); }
  bool Byte(char& out) {
    if (rest_.empty()) return false;
    out = rest_[0];
    rest_.remove_prefix(1);
    return true;
  }
  bool Varint(uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      char c;
      if (!Byte(c)) return false;
      out |= static_cast<uint64_t>(static_cast<unsigned char>(c) & 0x7f) << shift;
      if ((static_cast<unsigned char>(c) & 0x80) == 0) return true;
    }
    return false;
  }
  bool String(std::string_view& out) {
    uint64_t size = 0;
    if (!Varint(size) || size > rest_.size()) return false;
    out = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return true;
  }
  bool Ref(std::vector<std::string_view>& table, std::string_view& out) {
    uint64_t back = 0;
    if (!Varint(back)) return false;
    if (back == 0) {
      if (!String(out)) return false;
      table.push_back(out);
      return true;
    }
    if (back > table.size()) return false;
    out = table[table.size() - back];
    return true;
  }

 private:
  std::string_view rest_;
};

}  // namespace

void JournalChunkEncoder::Clear() {
  out_.clear();
  lines_ = 0;
  last_seq_ = 0;
  timestamps_.clear();
  events_.clear();
  prefixes_.clear();
}

void JournalChunkEncoder::AppendRef(Table& table, std::string_view s) {
  const std::size_t depth = std::min(table.size(), kSearchDepth);
  for (std::size_t back = 1; back <= depth; ++back) {
    if (View(table[table.size() - back]) == s) {
      AppendVarint(out_, back);
      return;
    }
  }
  AppendVarint(out_, 0);
  AppendVarint(out_, s.size());
  table.push_back(Span{out_.size(), s.size()});
  out_ += s;
}

std::string_view JournalChunkEncoder::PrefixOf(std::string_view data) const {
  std::string_view best;
  const std::size_t depth = std::min(prefixes_.size(), kSearchDepth);
  for (std::size_t back = 1; back <= depth; ++back) {
    std::string_view known = View(prefixes_[prefixes_.size() - back]);
    if (known.size() > best.size() && data.starts_with(known)) best = known;
  }
  if (!best.empty()) return data.substr(0, best.size());
  const std::size_t field = data.find(kInjectionField);
  if (field == std::string_view::npos) return {};
  const std::size_t close = data.find('"', field + kInjectionField.size());
  if (close == std::string_view::npos) return {};
  return data.substr(0, close + 1);
}

void JournalChunkEncoder::Add(uint64_t seq, std::string_view line) {
  if (out_.empty()) out_ += kFormat;
  AppendVarint(out_, seq - last_seq_);
  last_seq_ = seq;
  ++lines_;
  std::optional<protocol::EventLineParts> parts = protocol::SplitEventLine(line);
  if (!parts || parts->seq != seq) {
    out_ += kWhole;
    AppendString(out_, line);
    return;
  }
  out_ += kSplit;
  AppendRef(timestamps_, parts->timestamp);
  AppendRef(events_, parts->event);
  const std::string_view prefix = PrefixOf(parts->data);
  AppendRef(prefixes_, prefix);
  AppendString(out_, parts->data.substr(prefix.size()));
}

Status DecodeJournalChunk(std::string_view chunk, std::string& scratch,
                          const std::function<bool(uint64_t seq, std::string_view line)>& line_fn) {
  auto damaged = [](const char* what) {
    return Status::IoError(std::string("a journal chunk is damaged: ") + what);
  };
  Reader in(chunk);
  char format = 0;
  if (!in.Byte(format) || format != kFormat) return damaged("unknown format");
  std::vector<std::string_view> timestamps, events, prefixes;
  std::string data;
  uint64_t seq = 0;
  while (!in.done()) {
    uint64_t delta = 0;
    char kind = 0;
    if (!in.Varint(delta) || !in.Byte(kind)) return damaged("cut short");
    seq += delta;
    std::string_view line;
    if (kind == kWhole) {
      if (!in.String(line)) return damaged("cut short");
    } else if (kind == kSplit) {
      std::string_view timestamp, event, prefix, rest;
      if (!in.Ref(timestamps, timestamp) || !in.Ref(events, event) || !in.Ref(prefixes, prefix) ||
          !in.String(rest)) {
        return damaged("cut short or a reference to nothing");
      }
      data.assign(prefix);
      data += rest;
      scratch.clear();
      protocol::AppendEventLine(scratch, seq, timestamp, event, data);
      line = scratch;
    } else {
      return damaged("unknown line kind");
    }
    if (!line_fn(seq, line)) return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace codeswarm::router
