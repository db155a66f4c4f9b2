#include "worker/openai/sse_parser.h"

namespace codeswarm::worker::openai {

SseParser::SseParser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

Status SseParser::Feed(std::string_view bytes, const OnEvent& on_event) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (bytes[i] == '\n') {
        ++i;
        continue;
      }
    }
    std::size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      if (line_.size() > max_event_bytes_) return Status::IoError("server-sent event too large");
      return Status::Ok();
    }
    line_.append(bytes.substr(i, end - i));
    skip_lf_ = bytes[end] == '\r';
    i = end + 1;
    CODESWARM_RETURN_IF_ERROR(EndLine(on_event));
  }
  return Status::Ok();
}

Status SseParser::EndLine(const OnEvent& on_event) {
  std::string line;
  line.swap(line_);
  if (line.empty()) {
    if (has_data_) {
      if (!pending_.data.empty() && pending_.data.back() == '\n') pending_.data.pop_back();
      on_event(pending_);
    }
    pending_ = SseEvent{};
    has_data_ = false;
    return Status::Ok();
  }
  if (line[0] == ':') return Status::Ok();
  std::string_view field = line;
  std::string_view value;
  std::size_t colon = field.find(':');
  if (colon != std::string_view::npos) {
    value = field.substr(colon + 1);
    field = field.substr(0, colon);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    pending_.data.append(value);
    pending_.data += '\n';
    has_data_ = true;
    if (pending_.data.size() > max_event_bytes_) return Status::IoError("server-sent event too large");
  } else if (field == "event") {
    pending_.event = std::string(value);
  }
  return Status::Ok();
}

}  // namespace codeswarm::worker::openai
