// What the deploy tests need besides the fake command runner: stand-in binaries (a few ELF
// headers, static or naming an interpreter) and a runner that treats a command the way ssh and
// sshd do, as one quoted line for the remote user's shell, run here by a real /bin/sh.
#pragma once

#include <elf.h>

#include <cstring>
#include <fstream>
#include <string>

#include "common/run_command.h"
#include "provider/command_runner.h"
#include "provider/shell_quote.h"

namespace codeswarm::provider {

// Writes a 64-bit ELF executable's headers with one PT_LOAD and, when `interpreter` is not
// empty, a PT_INTERP naming it (what a dynamically linked executable has), then `tail` (so that
// two stand-ins can differ in contents).
inline void WriteStandInBinary(const std::string& path, const std::string& interpreter,
                               const std::string& tail = "static body") {
  const int phnum = interpreter.empty() ? 1 : 2;
  Elf64_Ehdr header{};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_EXEC;
  header.e_machine = EM_X86_64;
  header.e_version = EV_CURRENT;
  header.e_phoff = sizeof header;
  header.e_ehsize = sizeof header;
  header.e_phentsize = sizeof(Elf64_Phdr);
  header.e_phnum = phnum;
  std::string image(reinterpret_cast<const char*>(&header), sizeof header);
  const std::size_t interp_offset = sizeof header + phnum * sizeof(Elf64_Phdr);
  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  image.append(reinterpret_cast<const char*>(&load), sizeof load);
  if (!interpreter.empty()) {
    Elf64_Phdr interp{};
    interp.p_type = PT_INTERP;
    interp.p_offset = interp_offset;
    interp.p_filesz = interpreter.size() + 1;
    image.append(reinterpret_cast<const char*>(&interp), sizeof interp);
    image.append(interpreter);
    image.push_back('\0');
  }
  image.append(tail);
  std::ofstream(path, std::ios::binary) << image;
}

// Runs each command as ssh hands it to the login node: ShellJoin(argv) as one line for
// `/bin/sh -c`, here. So a value that the quoting got wrong would break the command or run.
// `path_prefix` (when set) comes first in PATH there: stand-ins for sbatch and the like.
class ShellLineRunner final : public CommandRunner {
 public:
  explicit ShellLineRunner(std::string path_prefix = "") : path_prefix_(std::move(path_prefix)) {}

  Result<RunResult> Run(const std::vector<std::string>& argv, const std::string& stdin_data,
                        Duration timeout) override {
    RunOptions options;
    options.stdin_data = stdin_data;
    options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    std::string line = ShellJoin(argv);
    if (!path_prefix_.empty()) line = "PATH=" + ShellQuote(path_prefix_) + ":\"$PATH\"; " + line;
    return RunCommand({"/bin/sh", "-c", line}, options);
  }
  std::string Where() const override { return "on the stand-in login node"; }

 private:
  const std::string path_prefix_;
};

}  // namespace codeswarm::provider
