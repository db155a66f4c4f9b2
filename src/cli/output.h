// Where a command writes. Human text goes to human(), errors and warnings to err(). With --json,
// human() swallows everything and stdout carries only the events that belong to the command,
// one per line, byte for byte as the router sent them, so that scripts can pipe it to `jq`.
#pragma once

#include <ostream>
#include <string_view>

#include "cli/event.h"

namespace codeswarm::cli {

class Output {
 public:
  // Borrows both streams; they must outlive this object.
  Output(std::ostream& out, std::ostream& err, bool json);
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  bool json() const { return json_; }
  std::ostream& human() { return json_ ? null_ : out_; }
  std::ostream& err() { return err_; }

  // With --json: writes event.raw and a newline to stdout. Without: nothing.
  void Emit(const Event& event);
  // Writes "error: <message>" to err().
  void Error(std::string_view message);
  // Pushes streamed text out now rather than when a buffer fills.
  void Flush();

 private:
  std::ostream& out_;
  std::ostream& err_;
  const bool json_;
  std::ostream null_{nullptr};  // no buffer: every write is dropped
};

}  // namespace codeswarm::cli
