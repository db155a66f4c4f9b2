// Streams the text of several nodes' turns into one terminal so that interleaved answers stay
// readable: text continues the current line while it comes from the same node, and a new line
// "[node K] " starts whenever another node speaks.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string_view>

namespace codeswarm::cli {

class StreamPrinter {
 public:
  // Borrows `out`.
  explicit StreamPrinter(std::ostream& out) : out_(out) {}

  // Prints a piece of node `node`'s answer.
  void Text(int64_t node, std::string_view text);
  // Prints "[node K] <line>" on a line of its own (ending any text line first).
  void NodeLine(int64_t node, std::string_view line);
  // Prints `line` on a line of its own (ending any text line first).
  void Line(std::string_view line);
  // Ends the current text line, if one is open (before output stops or goes elsewhere).
  void EndOpenLine();

 private:
  std::ostream& out_;
  // The node whose text was printed last, until a whole line interrupts it.
  std::optional<int64_t> text_node_;
  // The last text printed did not end with a newline.
  bool line_open_ = false;
};

}  // namespace codeswarm::cli
