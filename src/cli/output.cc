#include "cli/output.h"

namespace codeswarm::cli {

Output::Output(std::ostream& out, std::ostream& err, bool json)
    : out_(out), err_(err), json_(json) {}

void Output::Emit(const Event& event) {
  if (!json_) return;
  out_ << event.raw << '\n';
}

void Output::Error(std::string_view message) { err_ << "error: " << message << '\n'; }

void Output::Flush() {
  out_.flush();
  err_.flush();
}

}  // namespace codeswarm::cli
