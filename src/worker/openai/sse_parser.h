// Incremental parser of a `text/event-stream` body (server-sent events, as OpenAI-compatible
// servers stream): bytes go in as they arrive, split anywhere (even inside a "\r\n"); whole
// events come out. Lines end with \n, \r\n or \r; "data:" lines of one event are joined with
// "\n"; comments (":...") and unknown fields are ignored; an event is dispatched at an empty
// line, and only when it has data.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace codeswarm::worker::openai {

struct SseEvent {
  std::string event;  // the "event:" field, empty when absent
  std::string data;
};

class SseParser {
 public:
  using OnEvent = std::function<void(const SseEvent&)>;

  // An event (or one line) larger than `max_event_bytes` is an error.
  explicit SseParser(std::size_t max_event_bytes = 16 << 20);

  // Feeds the next bytes, calling `on_event` for each event they complete.
  Status Feed(std::string_view bytes, const OnEvent& on_event);

 private:
  Status EndLine(const OnEvent& on_event);

  const std::size_t max_event_bytes_;
  std::string line_;
  SseEvent pending_;
  bool has_data_ = false;
  bool skip_lf_ = false;  // the last byte was a \r: a \n right after it ends nothing more
};

}  // namespace codeswarm::worker::openai
