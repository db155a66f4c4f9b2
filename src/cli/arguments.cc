#include "cli/arguments.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/json_reader.h"

namespace codeswarm::cli {
namespace {

std::string ReadAll(std::istream& in) {
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<std::string> ReadPrompt(const PromptArgs& args, std::istream& in, bool required) {
  int sources = (args.text ? 1 : 0) + (args.file ? 1 : 0) + (args.from_stdin ? 1 : 0);
  if (sources > 1) {
    return Status::InvalidArgument("give the prompt once: --prompt, --prompt-file or -");
  }
  if (sources == 0) {
    if (!required) return std::string();
    return Status::InvalidArgument(
        "no prompt: give --prompt TEXT, --prompt-file PATH, or - to read it from stdin");
  }
  std::string prompt;
  if (args.text) {
    prompt = *args.text;
  } else if (args.from_stdin || *args.file == "-") {
    prompt = ReadAll(in);
  } else {
    std::ifstream file(*args.file, std::ios::binary);
    if (!file) {
      return Status::InvalidArgument("--prompt-file: cannot read " + *args.file + ": " +
                                     std::strerror(errno));
    }
    prompt = ReadAll(file);
  }
  if (required && prompt.empty()) return Status::InvalidArgument("the prompt is empty");
  return prompt;
}

Result<boost::json::object> ParseAgentArg(std::string_view text) {
  Result<boost::json::object> agent = ParseJsonObject(text);
  if (!agent.ok()) return agent.status().WithPrefix("--agent");
  return agent;
}

}  // namespace codeswarm::cli
