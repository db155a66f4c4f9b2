#include "provider/shell_quote.h"

namespace codeswarm::provider {

namespace {

bool IsBareSbatchChar(char ch) {
  if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
    return true;
  }
  return std::string_view("._-+:/=,@%").find(ch) != std::string_view::npos;
}

}  // namespace

std::string ShellQuote(std::string_view text) {
  std::string quoted;
  quoted.reserve(text.size() + 2);
  quoted += '\'';
  for (char ch : text) {
    if (ch == '\'') {
      quoted += "'\\''";  // close the quote, an escaped quote, reopen
    } else {
      quoted += ch;
    }
  }
  quoted += '\'';
  return quoted;
}

std::string ShellJoin(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    if (!line.empty()) line += ' ';
    line += ShellQuote(arg);
  }
  return line;
}

std::optional<std::string> SbatchQuote(std::string_view value) {
  bool bare = !value.empty();
  for (char ch : value) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return std::nullopt;
    if (!IsBareSbatchChar(ch)) bare = false;
  }
  if (bare) return std::string(value);
  std::string quoted = "\"";
  for (char ch : value) {
    // sbatch takes the character after a backslash literally, inside quotes too.
    if (ch == '\\' || ch == '"') quoted += '\\';
    quoted += ch;
  }
  quoted += '"';
  return quoted;
}

}  // namespace codeswarm::provider
