// Streams the text of nodes' turns into one terminal so that answers stay readable.
//
// Live mode (one node): text is printed as it arrives, token by token, after a "[node K] "
// label. Line mode (several nodes answering at once): each node's text is collected and printed
// a whole line at a time, every line labelled "[node K] ", so concurrent answers never break
// into each other mid-line; a node's unfinished last line is printed when its turn ends.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace codeswarm::cli {

class StreamPrinter {
 public:
  // Borrows `out`. Starts in live mode.
  explicit StreamPrinter(std::ostream& out) : out_(out) {}

  // Line mode when `on`; call before any text is printed.
  void SetLineMode(bool on) { line_mode_ = on; }

  // A piece of node `node`'s answer.
  void Text(int64_t node, std::string_view text);
  // Prints the rest of node `node`'s text, then "[node K] <line>" on a line of its own.
  void NodeLine(int64_t node, std::string_view line);
  // Prints `line` on a line of its own.
  void Line(std::string_view line);
  // Ends the current live line and prints every node's unfinished text (before output stops).
  void EndOpenLine();

 private:
  void FlushNode(int64_t node);
  void EndLiveLine();

  std::ostream& out_;
  bool line_mode_ = false;
  // Line mode: each node's text since its last complete line.
  std::map<int64_t, std::string> pending_;
  // Live mode: the node whose text was printed last, and whether its line is still open.
  std::optional<int64_t> live_node_;
  bool live_line_open_ = false;
};

}  // namespace codeswarm::cli
