#include "cli/stream_printer.h"

namespace codeswarm::cli {

void StreamPrinter::Text(int64_t node, std::string_view text) {
  if (text.empty()) return;
  if (!line_mode_) {
    if (live_node_ != node) {
      EndLiveLine();
      out_ << "[node " << node << "] ";
      live_node_ = node;
    }
    out_ << text;
    live_line_open_ = text.back() != '\n';
    out_.flush();
    return;
  }
  std::string& pending = pending_[node];
  pending += text;
  std::size_t start = 0;
  std::size_t newline;
  while ((newline = pending.find('\n', start)) != std::string::npos) {
    out_ << "[node " << node << "] " << std::string_view(pending).substr(start, newline - start)
         << '\n';
    start = newline + 1;
  }
  pending.erase(0, start);
  out_.flush();
}

void StreamPrinter::FlushNode(int64_t node) {
  auto it = pending_.find(node);
  if (it == pending_.end()) return;
  if (!it->second.empty()) out_ << "[node " << node << "] " << it->second << '\n';
  pending_.erase(it);
}

void StreamPrinter::EndLiveLine() {
  if (live_line_open_) out_ << '\n';
  live_line_open_ = false;
  live_node_.reset();
}

void StreamPrinter::NodeLine(int64_t node, std::string_view line) {
  EndLiveLine();
  FlushNode(node);
  out_ << "[node " << node << "] " << line << '\n';
  out_.flush();
}

void StreamPrinter::Line(std::string_view line) {
  EndLiveLine();
  out_ << line << '\n';
  out_.flush();
}

void StreamPrinter::EndOpenLine() {
  EndLiveLine();
  while (!pending_.empty()) FlushNode(pending_.begin()->first);
  out_.flush();
}

}  // namespace codeswarm::cli
