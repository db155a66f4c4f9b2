// A CommandRunner that runs nothing: it records every command it is given and answers from a
// script of canned results, so that the Slurm provider's logic (which commands, how many, what
// it makes of the answers) is tested without a cluster. The real runners are tested against a
// real Slurm and a real sshd in tests/e2e/slurm_e2e_test.cc.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "provider/command_runner.h"

namespace codeswarm::provider {

struct RecordedCommand {
  std::vector<std::string> argv;
  std::string stdin_data;
};

class FakeCommandRunner final : public CommandRunner {
 public:
  // Decides the answer to one command; the default answers every command with exit 0 and no
  // output.
  using Responder = std::function<Result<RunResult>(const RecordedCommand&)>;

  static RunResult Exit(int code, std::string out = "", std::string err = "") {
    RunResult result;
    result.status.code = code;
    result.stdout_text = std::move(out);
    result.stderr_text = std::move(err);
    return result;
  }

  // Answers the next command whose argv[0] is `program`, or, for a `/bin/sh -c TEXT NAME ...`,
  // whose NAME is `program` (in order of registration).
  void Expect(std::string program, Result<RunResult> answer) {
    std::lock_guard lock(mu_);
    answers_.push_back({std::move(program), std::move(answer)});
  }

  Result<RunResult> Run(const std::vector<std::string>& argv, const std::string& stdin_data,
                        Duration timeout) override {
    std::lock_guard lock(mu_);
    commands_.push_back({argv, stdin_data});
    for (auto it = answers_.begin(); it != answers_.end(); ++it) {
      if (it->first == argv.front() || it->first == ScriptName(argv)) {
        Result<RunResult> answer = std::move(it->second);
        answers_.erase(it);
        return answer;
      }
    }
    return Exit(0);
  }

  std::string Where() const override { return "on the fake cluster"; }

  // NAME of a `/bin/sh -c TEXT NAME ...` command ($0 of its script), else "".
  static std::string ScriptName(const std::vector<std::string>& argv) {
    return argv.size() > 3 && argv[0] == "/bin/sh" && argv[1] == "-c" ? argv[3] : "";
  }
  // The commands that are `/bin/sh -c` scripts named `name`.
  std::vector<RecordedCommand> Scripts(const std::string& name) const {
    std::lock_guard lock(mu_);
    std::vector<RecordedCommand> out;
    for (const RecordedCommand& c : commands_) {
      if (ScriptName(c.argv) == name) out.push_back(c);
    }
    return out;
  }

  std::vector<RecordedCommand> commands() const {
    std::lock_guard lock(mu_);
    return commands_;
  }
  // The commands whose argv[0] is `program`.
  std::vector<std::vector<std::string>> Commands(const std::string& program) const {
    std::lock_guard lock(mu_);
    std::vector<std::vector<std::string>> out;
    for (const RecordedCommand& c : commands_) {
      if (c.argv.front() == program) out.push_back(c.argv);
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::deque<std::pair<std::string, Result<RunResult>>> answers_;
  std::vector<RecordedCommand> commands_;
};

}  // namespace codeswarm::provider
