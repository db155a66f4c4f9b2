#include "common/subprocess.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

extern char** environ;

namespace codeswarm {

namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// The child's environment: ours, minus env_remove, with env_overrides applied.
std::vector<std::string> BuildEnvironment(const SpawnOptions& options) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  for (const std::string& name : options.env_remove) env.erase(name);
  for (const auto& [name, value] : options.env_overrides) env[name] = value;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// RAII for posix_spawn's two attribute objects.
struct SpawnAttrs {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnAttrs() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnAttrs() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

// Sets up one of the child's standard streams. `parent_end` receives our end of a pipe.
Status SetupStream(SpawnAttrs& sa, int child_fd, StdioMode mode, const std::string& file,
                   bool child_reads, int* parent_end, std::vector<int>* child_ends) {
  switch (mode) {
    case StdioMode::kInherit:
      return Status::Ok();
    case StdioMode::kNull:
      posix_spawn_file_actions_addopen(&sa.actions, child_fd, "/dev/null",
                                       child_reads ? O_RDONLY : O_WRONLY, 0);
      return Status::Ok();
    case StdioMode::kFile:
      if (file.empty()) return Status::InvalidArgument("kFile needs a file name");
      posix_spawn_file_actions_addopen(&sa.actions, child_fd, file.c_str(),
                                       O_WRONLY | O_CREAT | O_APPEND, 0600);
      return Status::Ok();
    case StdioMode::kPipe: {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) return Status::IoError("pipe: " + ErrnoText(errno));
      int child_end = child_reads ? fds[0] : fds[1];
      *parent_end = child_reads ? fds[1] : fds[0];
      child_ends->push_back(child_end);
      posix_spawn_file_actions_adddup2(&sa.actions, child_end, child_fd);
      return Status::Ok();
    }
  }
  return Status::Internal("bad stdio mode");
}

}  // namespace

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string ExitStatus::ToString() const {
  if (signal != 0) {
    return "killed by signal " + std::to_string(signal) + " (" + SignalName(signal) + ")";
  }
  return "exit code " + std::to_string(code);
}

ExitStatus ExitStatus::FromWaitStatus(int wait_status) {
  ExitStatus s;
  if (WIFEXITED(wait_status)) s.code = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) s.signal = WTERMSIG(wait_status);
  return s;
}

Result<Subprocess> Subprocess::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return Status::InvalidArgument("empty command");
  SpawnAttrs sa;
  Subprocess child;
  std::vector<int> child_ends;
  auto fail = [&](Status status) {
    for (int& fd : child_ends) CloseFd(fd);
    child.CloseAll();
    return status;
  };
  Status s = SetupStream(sa, STDIN_FILENO, options.stdin_mode, "", true, &child.stdin_fd_,
                         &child_ends);
  if (s.ok()) {
    s = SetupStream(sa, STDOUT_FILENO, options.stdout_mode, options.stdout_file, false,
                    &child.stdout_fd_, &child_ends);
  }
  if (s.ok()) {
    if (options.stderr_mode == StdioMode::kFile && options.stdout_mode == StdioMode::kFile &&
        options.stderr_file == options.stdout_file) {
      posix_spawn_file_actions_adddup2(&sa.actions, STDOUT_FILENO, STDERR_FILENO);
    } else {
      s = SetupStream(sa, STDERR_FILENO, options.stderr_mode, options.stderr_file, false,
                      &child.stderr_fd_, &child_ends);
    }
  }
  if (!s.ok()) return fail(s);

  // Nothing else of ours crosses into the child: listening sockets, database files, other
  // children's pipes.
  posix_spawn_file_actions_addclosefrom_np(&sa.actions, STDERR_FILENO + 1);
  if (!options.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&sa.actions, options.cwd.c_str());
  }
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.new_session) {
    flags |= POSIX_SPAWN_SETSID;
  } else if (options.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&sa.attr, 0);
  }
  posix_spawnattr_setflags(&sa.attr, flags);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&sa.attr, &none);
  sigset_t defaults;
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  posix_spawnattr_setsigdefault(&sa.attr, &defaults);

  std::vector<std::string> argv_strings = options.argv;
  std::vector<std::string> env_strings = BuildEnvironment(options);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);
  pid_t pid = -1;
  int rc = options.argv[0].find('/') == std::string::npos
               ? posix_spawnp(&pid, argv[0], &sa.actions, &sa.attr, argv.data(), envp.data())
               : posix_spawn(&pid, argv[0], &sa.actions, &sa.attr, argv.data(), envp.data());
  for (int& fd : child_ends) CloseFd(fd);
  if (rc != 0) {
    std::string what = "cannot start " + options.argv[0] + ": " + ErrnoText(rc);
    if (!options.cwd.empty() && rc == ENOENT && ::access(options.cwd.c_str(), X_OK) != 0) {
      what += " (working directory " + options.cwd + " does not exist)";
    }
    return fail(rc == ENOENT ? Status::NotFound(what) : Status::IoError(what));
  }
  child.pid_ = pid;
  child.pidfd_ = PidfdOpen(pid);  // our unreaped child: no pid-reuse race here
  return child;
}

Subprocess::Subprocess(Subprocess&& other) noexcept { *this = std::move(other); }

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    CloseAll();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    stdin_fd_ = std::exchange(other.stdin_fd_, -1);
    stdout_fd_ = std::exchange(other.stdout_fd_, -1);
    stderr_fd_ = std::exchange(other.stderr_fd_, -1);
    exit_ = other.exit_;
  }
  return *this;
}

Subprocess::~Subprocess() { CloseAll(); }

void Subprocess::CloseAll() {
  CloseFd(pidfd_);
  CloseFd(stdin_fd_);
  CloseFd(stdout_fd_);
  CloseFd(stderr_fd_);
}

void Subprocess::CloseStdin() { CloseFd(stdin_fd_); }

int Subprocess::ReleaseStdout() { return std::exchange(stdout_fd_, -1); }
int Subprocess::ReleaseStdin() { return std::exchange(stdin_fd_, -1); }

std::optional<ExitStatus> Subprocess::TryWait() {
  if (exit_ || pid_ <= 0) return exit_;
  int wait_status = 0;
  pid_t r = ::waitpid(pid_, &wait_status, WNOHANG);
  if (r == pid_) exit_ = ExitStatus::FromWaitStatus(wait_status);
  return exit_;
}

ExitStatus Subprocess::Wait() {
  while (!exit_ && pid_ > 0) {
    int wait_status = 0;
    pid_t r = ::waitpid(pid_, &wait_status, 0);
    if (r == pid_) {
      exit_ = ExitStatus::FromWaitStatus(wait_status);
    } else if (r < 0 && errno != EINTR) {
      exit_ = ExitStatus{};  // not our child any more (someone else reaped it)
    }
  }
  return exit_.value_or(ExitStatus{});
}

std::optional<ExitStatus> Subprocess::WaitFor(std::chrono::milliseconds timeout,
                                              const Clock& clock) {
  const SteadyTime deadline = clock.Now() + timeout;
  while (true) {
    if (auto status = TryWait()) return status;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.Now());
    if (left.count() <= 0) return std::nullopt;
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    } else {
      ::usleep(10000);
    }
  }
}

Status Subprocess::Signal(int sig) {
  if (exit_) return Status::Ok();
  int rc = pidfd_ >= 0 ? PidfdSendSignal(pidfd_, sig) : ::kill(pid_, sig);
  if (rc != 0 && errno != ESRCH) return Status::IoError("kill: " + ErrnoText(errno));
  return Status::Ok();
}

Status Subprocess::SignalGroup(int sig) {
  if (pid_ <= 0) return Status::FailedPrecondition("no process");
  if (::kill(-pid_, sig) != 0 && errno != ESRCH) {
    return Status::IoError("kill process group " + std::to_string(pid_) + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

std::vector<ProcessRef> DescendantsOf(pid_t root) {
  // One pass over /proc for everyone's parent and group, then a walk down from `root`.
  std::map<pid_t, std::vector<ProcessRef>> children;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return {};
  while (dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::string path = std::string("/proc/") + entry->d_name + "/stat";
    FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) continue;
    char buf[512];
    std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses; the last ')' ends it.
    const char* close = std::strrchr(buf, ')');
    if (close == nullptr) continue;
    char state = 0;
    int ppid = 0, pgrp = 0;
    if (std::sscanf(close + 1, " %c %d %d", &state, &ppid, &pgrp) != 3 || state == 'Z') continue;
    children[ppid].push_back({static_cast<pid_t>(std::atoi(entry->d_name)), pgrp});
  }
  ::closedir(proc);
  std::vector<ProcessRef> out;
  std::vector<pid_t> todo = {root};
  while (!todo.empty()) {
    pid_t parent = todo.back();
    todo.pop_back();
    for (const ProcessRef& child : children[parent]) {
      out.push_back(child);
      todo.push_back(child.pid);
    }
  }
  return out;
}

void KillProcesses(const std::vector<ProcessRef>& processes) {
  for (const ProcessRef& p : processes) {
    if (p.pgid == p.pid) ::kill(-p.pgid, SIGKILL);
    ::kill(p.pid, SIGKILL);
  }
}

std::string SelfExecutablePath() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "codeswarm";
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace codeswarm
