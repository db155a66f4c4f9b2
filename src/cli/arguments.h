// Checks of option values that need more than CLI11 can express: prompts read from a file or
// stdin, and the agent settings given as JSON. Errors name the option; they are usage errors,
// found before anything is sent to the router.
#pragma once

#include <boost/json/object.hpp>

#include <istream>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace codeswarm::cli {

// Where a prompt comes from: --prompt TEXT, --prompt-file PATH ("-" is stdin) or a lone "-".
struct PromptArgs {
  std::optional<std::string> text;
  std::optional<std::string> file;
  bool from_stdin = false;
};

// Returns the prompt (stdin is read from `in`). At most one source may be given; when
// `required`, exactly one, and the prompt must not be empty. Without a source: "".
Result<std::string> ReadPrompt(const PromptArgs& args, std::istream& in, bool required);

// Parses --agent: a JSON object (its keys are checked by the router).
Result<boost::json::object> ParseAgentArg(std::string_view text);

}  // namespace codeswarm::cli
