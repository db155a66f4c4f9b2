// How an answer made of several pieces (codex's agent messages, claude's text blocks) reads:
// the pieces one after another, a blank line between two, in the streamed deltas as in the
// final text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace codeswarm::worker {

inline constexpr std::string_view kAnswerPieceSeparator = "\n\n";

// The final text of an answer whose pieces are `pieces`.
inline std::string JoinAnswerPieces(const std::vector<std::string>& pieces) {
  std::string text;
  for (const std::string& piece : pieces) {
    if (!text.empty()) text += kAnswerPieceSeparator;
    text += piece;
  }
  return text;
}

}  // namespace codeswarm::worker
