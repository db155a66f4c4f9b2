#include "cli/stream_printer.h"

namespace codeswarm::cli {

void StreamPrinter::Text(int64_t node, std::string_view text) {
  if (text.empty()) return;
  if (text_node_ != node) {
    EndOpenLine();
    out_ << "[node " << node << "] ";
    text_node_ = node;
  }
  out_ << text;
  line_open_ = text.back() != '\n';
}

void StreamPrinter::NodeLine(int64_t node, std::string_view line) {
  EndOpenLine();
  out_ << "[node " << node << "] " << line << '\n';
  text_node_.reset();
}

void StreamPrinter::Line(std::string_view line) {
  EndOpenLine();
  out_ << line << '\n';
  text_node_.reset();
}

void StreamPrinter::EndOpenLine() {
  if (line_open_) out_ << '\n';
  line_open_ = false;
}

}  // namespace codeswarm::cli
