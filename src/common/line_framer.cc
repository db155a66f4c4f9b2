#include "common/line_framer.h"

#include <algorithm>
#include <cstring>

namespace codeswarm {

LineFramer::LineFramer(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

void LineFramer::Compact() {
  if (start_ == 0) return;
  std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
  end_ -= start_;
  scan_ -= start_;
  start_ = 0;
}

std::span<char> LineFramer::Prepare(std::size_t min_bytes) {
  if (buffer_.size() - end_ < min_bytes) {
    Compact();
    if (buffer_.size() - end_ < min_bytes) {
      buffer_.resize(std::max(buffer_.size() * 2, end_ + min_bytes));
    }
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

void LineFramer::Commit(std::size_t n) { end_ += n; }

void LineFramer::Feed(std::string_view bytes) {
  std::span<char> area = Prepare(bytes.size());
  std::memcpy(area.data(), bytes.data(), bytes.size());
  Commit(bytes.size());
}

std::optional<LineFramer::Item> LineFramer::Next() {
  while (true) {
    const char* base = buffer_.data();
    const char* found = static_cast<const char*>(
        std::memchr(base + scan_, '\n', end_ - scan_));
    if (discarding_) {
      if (found == nullptr) {
        start_ = scan_ = end_;  // drop everything: still inside the long line
        return std::nullopt;
      }
      start_ = scan_ = static_cast<std::size_t>(found - base) + 1;
      discarding_ = false;
      continue;
    }
    if (found == nullptr) {
      scan_ = end_;
      if (end_ - start_ > max_line_bytes_) {
        discarding_ = true;
        start_ = scan_ = end_;
        return Item{Item::Kind::kTooLong, {}};
      }
      if (start_ == end_) start_ = scan_ = end_ = 0;
      return std::nullopt;
    }
    std::size_t line_end = static_cast<std::size_t>(found - base);
    std::size_t line_start = start_;
    start_ = scan_ = line_end + 1;
    if (line_end - line_start > max_line_bytes_) {
      return Item{Item::Kind::kTooLong, {}};
    }
    std::size_t length = line_end - line_start;
    if (length > 0 && base[line_start + length - 1] == '\r') --length;
    return Item{Item::Kind::kLine, std::string_view(base + line_start, length)};
  }
}

}  // namespace codeswarm
