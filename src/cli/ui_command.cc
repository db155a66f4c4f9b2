#include "cli/ui_command.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/exit_codes.h"

extern char** environ;

namespace codeswarm::cli {

namespace {

// xdg-open on PATH, or empty.
std::string FindXdgOpen() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::string_view dirs(path);
  while (!dirs.empty()) {
    std::size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    std::string candidate = dir + "/xdg-open";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

bool HasDisplay() {
  for (const char* name : {"DISPLAY", "WAYLAND_DISPLAY"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return true;
  }
  return false;
}

// Starts `xdg-open url` without a shell (the URL is one argv entry) and does not wait for the
// browser; returns whether it started.
bool StartBrowser(const std::string& xdg_open, const std::string& url) {
  pid_t pid = 0;
  std::string program = xdg_open;
  std::string argument = url;
  char* argv[] = {program.data(), argument.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  int error = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return false;
  int status = 0;
  // xdg-open hands the URL to the browser and exits; a browser it runs itself keeps going.
  return ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

std::string WebUiUrl(int http_port) {
  return "http://127.0.0.1:" + std::to_string(http_port) + "/";
}

int OpenUi(const GlobalOptions& options, bool open_browser) {
  Result<Config> config = LoadCliConfig(options);
  if (!config.ok()) {
    std::cerr << "error: " << config.status().message() << std::endl;
    return kExitUsage;
  }
  if (config->router.http_port == 0) {
    std::cerr << "error: the web UI is off in " << config->source
              << " (router.http_port is 0); set it to a port, e.g. 8767, and restart the router"
              << std::endl;
    return kExitUsage;
  }
  const std::string url = WebUiUrl(config->router.http_port);
  // Connecting starts the router when none runs, so that the page is there to open.
  return RunWithRouter(options, [&](Client&, Output&) {
    if (options.json) {
      std::cout << boost::json::serialize(boost::json::object{{"url", url}}) << std::endl;
    } else {
      std::cout << url << std::endl;
    }
    if (!open_browser) return kExitOk;
    std::string xdg_open = FindXdgOpen();
    if (!xdg_open.empty() && HasDisplay() && !StartBrowser(xdg_open, url)) {
      std::cerr << "could not open a browser (xdg-open failed); open " << url << " yourself"
                << std::endl;
    }
    return kExitOk;
  });
}

}  // namespace codeswarm::cli
