#include "common/config.h"

#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/json_reader.h"
#include "common/text.h"

namespace codeswarm {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return (value != nullptr && *value != '\0') ? value : fallback;
}

std::string HomeDir() { return EnvOr("HOME", "/"); }

// Expands a leading "~/" and makes relative paths relative to `base_dir`.
std::string ResolvePath(const std::string& path, const std::string& base_dir) {
  if (path.empty()) return path;
  if (path == "~") return HomeDir();
  if (path.rfind("~/", 0) == 0) return HomeDir() + path.substr(1);
  fs::path p(path);
  if (p.is_relative()) p = fs::path(base_dir) / p;
  return p.lexically_normal().string();
}

// 9 -> "9", 2.5 -> "2.5" (json::serialize would say "9E0").
std::string Seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

bool StartsWithSlash(const std::string& s) { return !s.empty() && s[0] == '/'; }

bool IsWildcardAddress(const std::string& host) {
  return host == "0.0.0.0" || host == "::" || host.empty();
}

void ReadRouter(JsonObjectReader& root, RouterConfig* c) {
  const json::object* object = root.Object("router");
  if (object == nullptr) return;
  JsonObjectReader r(*object, "router", root.errors());
  r.NonEmptyString("host", &c->host);
  r.Int("port", 1, 65535, &c->port);
  r.NonEmptyString("worker_host", &c->worker_host);
  r.Int("worker_port", 1, 65535, &c->worker_port);
  r.Int("http_port", 0, 65535, &c->http_port);
  r.String("worker_advertise_host", &c->worker_advertise_host);
  r.NonEmptyString("state_dir", &c->state_dir);
  r.Int("max_line_bytes", int64_t{1024}, int64_t{1} << 30, &c->max_line_bytes);
  r.Int("max_nodes", 1, 100000, &c->max_nodes);
  r.Int("client_queue_bytes", int64_t{4096}, int64_t{1} << 34, &c->client_queue_bytes);
  r.Number("slow_client_grace_seconds", 0, 3600, &c->slow_client_grace_seconds);
  r.Number("client_write_timeout_seconds", 0.1, 86400, &c->client_write_timeout_seconds);
  r.Number("worker_write_timeout_seconds", 0.1, 86400, &c->worker_write_timeout_seconds);
  r.Number("heartbeat_seconds", 0.05, 3600, &c->heartbeat_seconds);
  r.Number("worker_timeout_seconds", 0.1, 86400, &c->worker_timeout_seconds);
  r.Number("worker_lost_seconds", 0.1, 86400, &c->worker_lost_seconds);
  if (r.Raw("worker_reconnect_seconds") != nullptr) {
    r.Error("worker_reconnect_seconds",
            "replaced by router.worker_lost_seconds: the time from a worker's last sign of life "
            "to its node being lost (default 10)");
  }
  r.Number("worker_orphan_seconds", 1, 30 * 86400, &c->worker_orphan_seconds);
  r.Enum("log_level", {"trace", "debug", "info", "warn", "error"}, &c->log_level);
  r.Bool("allow_other_users", &c->allow_other_users);
  r.Number("journal_retention_seconds", 60, 10 * 365 * 86400.0, &c->journal_retention_seconds);
  r.Int("journal_max_bytes", int64_t{1} << 20, int64_t{1} << 40, &c->journal_max_bytes);
  r.Finish();
  if (c->worker_timeout_seconds <= c->heartbeat_seconds) {
    root.errors()->Add("router.worker_timeout_seconds: must be longer than heartbeat_seconds (" +
                       Seconds(c->heartbeat_seconds) + ")");
  }
  // A silent connection is noticed only at the first heartbeat after the timeout; the worker
  // then needs up to another heartbeat to connect again (its retries are at most that apart).
  const double noticed = c->worker_timeout_seconds + 2 * c->heartbeat_seconds;
  if (c->worker_lost_seconds < noticed) {
    root.errors()->Add("router.worker_lost_seconds: must be at least worker_timeout_seconds + "
                       "2 x heartbeat_seconds (" + Seconds(noticed) +
                       " s here), or a worker whose connection went silent is lost before it "
                       "can reconnect; raise it or lower those two");
  }
}

void ReadLocal(JsonObjectReader& cluster, LocalBackendConfig* c) {
  const json::object* object = cluster.Object("local");
  if (object == nullptr) return;
  JsonObjectReader r(*object, "cluster.local", cluster.errors());
  if (r.StringList("worker_command", &c->worker_command) && c->worker_command.empty()) {
    r.Error("worker_command", "must not be an empty list (leave it out to use this binary)");
  }
  r.Number("terminate_grace_seconds", 0, 3600, &c->terminate_grace_seconds);
  r.Number("poll_interval_seconds", 0.05, 3600, &c->poll_interval_seconds);
  r.Finish();
}

// A value that ends up in a batch script or on a command line: any text but a line break or
// another control character (those could end an #SBATCH line and start a shell command).
bool IsSingleLine(std::string_view text) {
  for (char ch : text) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) return false;
  }
  return true;
}

void SingleLineString(JsonObjectReader& r, std::string_view key, std::string* out) {
  if (r.String(key, out) && !IsSingleLine(*out)) {
    r.Error(key, "must be one line without control characters");
  }
}

void SingleLineList(JsonObjectReader& r, std::string_view key, std::vector<std::string>* out) {
  if (!r.StringList(key, out)) return;
  for (std::size_t i = 0; i < out->size(); ++i) {
    if (!IsSingleLine((*out)[i])) {
      r.Error(std::string(key) + "[" + std::to_string(i) + "]",
              "must be one line without control characters");
    }
  }
}

// Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or no limit.
bool IsSlurmTimeLimit(const std::string& text) {
  static const std::regex kFormat(
      R"(\d+|\d+:\d+|\d+:\d+:\d+|\d+-\d+|\d+-\d+:\d+|\d+-\d+:\d+:\d+|UNLIMITED|INFINITE)");
  return std::regex_match(text, kFormat);
}

// An ssh destination: it is passed after "--", but a name that looks like an option or holds
// spaces is a mistake worth reporting here rather than as an ssh error later.
void ReadLoginAlias(JsonObjectReader& r, std::string_view key, std::string* out) {
  if (!r.String(key, out)) return;
  if (!out->empty() &&
      (out->front() == '-' || !IsSingleLine(*out) || out->find(' ') != std::string::npos)) {
    r.Error(key, "must be an ssh host name or alias (no spaces, not starting with '-')");
  }
}

void ReadSlurm(JsonObjectReader& cluster, SlurmBackendConfig* c) {
  const json::object* object = cluster.Object("slurm");
  if (object == nullptr) return;
  JsonObjectReader r(*object, "cluster.slurm", cluster.errors());
  SingleLineString(r, "partition", &c->partition);
  if (r.String("time_limit", &c->time_limit) && !c->time_limit.empty() &&
      !IsSlurmTimeLimit(c->time_limit)) {
    r.Error("time_limit",
            "expected Slurm's format: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS, "
            "got \"" + Ellipsize(c->time_limit, 40) + "\"");
  }
  SingleLineString(r, "account", &c->account);
  SingleLineString(r, "qos", &c->qos);
  r.Int("agents_per_node", 1, 4096, &c->agents_per_node);
  SingleLineList(r, "extra_directives", &c->extra_directives);
  for (std::size_t i = 0; i < c->extra_directives.size(); ++i) {
    std::string_view option = TrimWhitespace(c->extra_directives[i]);
    if (StartsWith(option, "#SBATCH")) option = TrimWhitespace(option.substr(7));
    if (!StartsWith(option, "-")) {
      r.Error("extra_directives[" + std::to_string(i) + "]",
              "expected an sbatch option such as \"--gres=gpu:1\" (optionally after "
              "\"#SBATCH \")");
    }
  }
  SingleLineList(r, "setup", &c->setup);
  SingleLineString(r, "worker_command", &c->worker_command);
  if (r.String("job_name_prefix", &c->job_name_prefix)) {
    static const std::regex kName(R"([A-Za-z0-9._+-]{1,64})");
    if (!std::regex_match(c->job_name_prefix, kName)) {
      r.Error("job_name_prefix", "expected 1 to 64 of A-Z a-z 0-9 . _ + -");
    }
  }
  r.Number("poll_interval_seconds", 0.2, 3600, &c->poll_interval_seconds);
  r.Int("drain_seconds", 0, 65535, &c->drain_seconds);
  if (r.Has("login_alias")) {
    std::string alias;
    ReadLoginAlias(r, "login_alias", &alias);
    c->login_alias = alias;
  }
  r.Enum("connect", {"direct", "relay"}, &c->connect);
  r.Int("relay_port", 0, 65535, &c->relay_port);
  SingleLineString(r, "relay_host", &c->relay_host);
  r.Finish();
}

void ReadCluster(JsonObjectReader& root, ClusterConfig* c) {
  const json::object* object = root.Object("cluster");
  if (object == nullptr) return;
  JsonObjectReader r(*object, "cluster", root.errors());
  r.Enum("backend", {"local", "slurm"}, &c->backend);
  r.NonEmptyString("workspace_root", &c->workspace_root);
  r.String("cluster_subdir", &c->cluster_subdir);
  if (c->cluster_subdir.find("..") != std::string::npos || StartsWithSlash(c->cluster_subdir)) {
    r.Error("cluster_subdir", "must be a relative path without '..'");
  }
  ReadLocal(r, &c->local);
  ReadSlurm(r, &c->slurm);
  r.Finish();
}

void ReadSsh(JsonObjectReader& root, SshConfig* c) {
  const json::object* object = root.Object("ssh");
  if (object == nullptr) return;
  JsonObjectReader r(*object, "ssh", root.errors());
  ReadLoginAlias(r, "login_alias", &c->login_alias);
  r.Int("controlpersist_minutes", 0, 7 * 24 * 60, &c->controlpersist_minutes);
  SingleLineString(r, "ssh_config", &c->ssh_config);
  r.Number("connect_timeout_seconds", 1, 600, &c->connect_timeout_seconds);
  r.Finish();
}

}  // namespace

std::string DefaultStateDir() {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg != nullptr && *xdg == '/') return std::string(xdg) + "/codeswarm";
  return HomeDir() + "/.local/state/codeswarm";
}

std::string Config::SwarmsRoot() const {
  if (cluster.cluster_subdir.empty()) return cluster.workspace_root;
  return (fs::path(cluster.workspace_root) / cluster.cluster_subdir).string();
}

std::string Config::SlurmLoginAlias() const {
  return cluster.slurm.login_alias.value_or(ssh.login_alias);
}

std::string Config::WorkerAdvertiseHost() const {
  if (!router.worker_advertise_host.empty()) return router.worker_advertise_host;
  if (!IsWildcardAddress(router.worker_host)) return router.worker_host;
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0 && name[0] != '\0') return name;
  return "127.0.0.1";
}

Result<Config> ParseConfig(std::string_view text, const std::string& source,
                           const std::string& base_dir,
                           const AgentSettingsValidator& validate_agent) {
  Result<json::object> parsed = ParseJsonObject(text);
  if (!parsed.ok()) return parsed.status().WithPrefix(source);

  Config config;
  config.source = source;
  JsonErrors errors;
  JsonObjectReader root(*parsed, "", &errors);
  ReadRouter(root, &config.router);
  ReadCluster(root, &config.cluster);
  ReadSsh(root, &config.ssh);
  ReadPricing(root, &config.pricing);
  if (const json::object* agent = root.Object("agent")) {
    Result<AgentSummary> kind =
        validate_agent ? validate_agent(*agent, "agent")
                       : Status::FailedPrecondition("agent: this build cannot check agent settings");
    if (!kind.ok()) errors.Add(kind.status().message());
    config.agent_json = json::serialize(*agent);
  }
  root.Finish();
  if (!errors.empty()) return errors.ToStatus().WithPrefix(source);

  config.router.state_dir = config.router.state_dir.empty()
                                ? DefaultStateDir()
                                : ResolvePath(config.router.state_dir, base_dir);
  config.ssh.ssh_config = ResolvePath(config.ssh.ssh_config, base_dir);
  config.cluster.workspace_root =
      config.cluster.workspace_root.empty()
          ? (fs::path(config.router.state_dir) / "workspaces").string()
          : ResolvePath(config.cluster.workspace_root, base_dir);
  return config;
}

Result<Config> LoadConfig(const std::optional<std::string>& explicit_path,
                          const AgentSettingsValidator& validate_agent) {
  std::string path;
  bool must_exist = true;
  if (explicit_path) {
    path = *explicit_path;
  } else if (const char* env = std::getenv("CODESWARM_CONFIG"); env != nullptr && *env != '\0') {
    path = env;
  } else {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    std::string dir = (xdg != nullptr && *xdg == '/') ? xdg : HomeDir() + "/.config";
    path = dir + "/codeswarm/config.json";
    must_exist = false;
  }
  std::error_code ec;
  if (!must_exist && !fs::exists(path, ec)) {
    return ParseConfig("{}", "built-in defaults", "/", validate_agent);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read config file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  fs::path absolute = fs::absolute(path, ec);
  Result<Config> config =
      ParseConfig(text.str(), path, absolute.parent_path().string(), validate_agent);
  if (config.ok()) config->path = absolute.string();
  return config;
}

}  // namespace codeswarm
