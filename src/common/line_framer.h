// Splits a byte stream into newline-terminated lines, with a hard limit on line length. Used on
// both sides of both protocols. Bytes can be read straight into its buffer (Prepare/Commit) so the
// hot path copies nothing.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace codeswarm {

class LineFramer {
 public:
  // A line longer than `max_line_bytes` (newline excluded) is reported as kTooLong as soon as the
  // limit is passed, and the rest of it is discarded without being buffered.
  explicit LineFramer(std::size_t max_line_bytes);

  struct Item {
    enum class Kind { kLine, kTooLong };
    Kind kind = Kind::kLine;
    // For kLine: the line without its "\n" (and without a trailing "\r"). Valid until the next
    // call to Feed, Prepare or Next.
    std::string_view line;
  };

  // Appends bytes.
  void Feed(std::string_view bytes);
  // Returns writable space for at least `min_bytes`; follow with Commit(n) for the n bytes
  // actually written.
  std::span<char> Prepare(std::size_t min_bytes);
  void Commit(std::size_t n);

  // The next complete line or overflow notice, or nullopt when more bytes are needed.
  std::optional<Item> Next();

  // Bytes held that do not yet form a complete line.
  std::size_t buffered() const { return end_ - start_; }
  std::size_t max_line_bytes() const { return max_line_bytes_; }

 private:
  void Compact();

  const std::size_t max_line_bytes_;
  std::string buffer_;
  std::size_t start_ = 0;  // first unconsumed byte
  std::size_t scan_ = 0;   // bytes before this (from start_) hold no newline
  std::size_t end_ = 0;    // end of valid data
  bool discarding_ = false;  // inside an over-long line: drop bytes up to the next newline
};

}  // namespace codeswarm
