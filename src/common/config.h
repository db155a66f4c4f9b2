// The configuration file: one JSON document with the sections router, cluster, ssh and agent.
// See docs/CONFIG_SCHEMA.md, which must list every key read here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/agent_settings_validator.h"
#include "common/pricing.h"
#include "common/status.h"

namespace codeswarm {

struct RouterConfig {
  std::string host = "127.0.0.1";
  int port = 8765;
  // Where the worker listener binds, and the address workers are told to dial (defaults to
  // worker_host, or this machine's hostname when worker_host is a wildcard address).
  std::string worker_host = "127.0.0.1";
  int worker_port = 8766;
  // The web UI and /ws (docs/WEB_UI.md), always on loopback; 0 turns it off.
  int http_port = 8767;
  std::string worker_advertise_host;
  std::string state_dir;
  int64_t max_line_bytes = 1 << 20;
  int max_nodes = 256;
  int64_t client_queue_bytes = 8 << 20;
  // A client (or worker) that takes none of the bytes waiting for it for this long is cut off.
  double client_write_timeout_seconds = 30;
  double worker_write_timeout_seconds = 30;
  // How long a client that stopped reading gets to take its final error line.
  double slow_client_grace_seconds = 5;
  // Both sides of a worker connection ping this often.
  double heartbeat_seconds = 2;
  // A connection that shows no sign of life for this long is considered dead (and the worker
  // reconnects).
  double worker_timeout_seconds = 5;
  // The bound from a worker's last sign of life to its node being lost (its turns fail): a
  // worker whose connection dropped has until then to come back. At least
  // worker_timeout_seconds + 2 * heartbeat_seconds, so that a silent connection is noticed and
  // replaced in time.
  double worker_lost_seconds = 10;
  // How long a worker keeps trying to reach a router that has gone away before it exits.
  double worker_orphan_seconds = 900;
  std::string log_level = "info";
  // Accept client connections from other users (and from other machines, whose user cannot be
  // checked). Off: only the user running the router (and root) may command it.
  bool allow_other_users = false;
  // Event journal retention: events older than this, or beyond the newest journal_max_bytes of
  // event lines, may be pruned (never those of unfinished turns of live swarms).
  double journal_retention_seconds = 7 * 86400;
  int64_t journal_max_bytes = int64_t{1} << 30;
};

struct LocalBackendConfig {
  // Empty: this codeswarm binary. Otherwise argv of the worker ("worker" is not appended).
  std::vector<std::string> worker_command;
  double terminate_grace_seconds = 5;
  double poll_interval_seconds = 1;
};

// cluster.slurm: how swarms become Slurm jobs. See docs/SLURM.md. Text values may hold any
// character but newlines and other control characters (the script generator quotes them);
// `setup` lines are shell by design.
struct SlurmBackendConfig {
  std::string partition;   // empty: the cluster's default partition
  std::string time_limit;  // Slurm's format ("30", "01:00:00", "1-12"); empty: the partition's
  std::string account;     // empty: the user's default account
  std::string qos;         // empty: the default QOS
  // A swarm of N nodes runs as N Slurm tasks on ceil(N / agents_per_node) Slurm nodes.
  int agents_per_node = 1;
  // Raw `#SBATCH` options, one per entry ("--gres=gpu:1" or "#SBATCH --gres=gpu:1").
  std::vector<std::string> extra_directives;
  // Shell lines the batch script runs before starting the workers ("module load ...").
  std::vector<std::string> setup;
  // The codeswarm binary as the compute nodes see it; empty: this router's own binary.
  std::string worker_command;
  std::string job_name_prefix = "codeswarm-";
  double poll_interval_seconds = 10;
  // SIGUSR1 reaches the workers this long before the time limit (0: no warning).
  int drain_seconds = 120;
  // Overrides ssh.login_alias when present; "" runs the Slurm commands on this machine.
  std::optional<std::string> login_alias;
  // How workers reach the router (docs/SLURM.md): "direct" dials router.worker_host;
  // "relay" dials `codeswarm relay`, which the router runs on the login node over ssh.
  std::string connect = "direct";
  // The relay's port on the login node; 0: a free one, kept for the router's lifetime.
  int relay_port = 0;
  // The host workers dial to reach the relay; empty: the login node's hostname.
  std::string relay_host;
};

struct ClusterConfig {
  std::string backend = "local";
  std::string workspace_root;
  std::string cluster_subdir = "swarms";
  LocalBackendConfig local;
  SlurmBackendConfig slurm;
};

struct SshConfig {
  std::string login_alias;
  int controlpersist_minutes = 10;
  std::string ssh_config;
  double connect_timeout_seconds = 10;
};

struct Config {
  RouterConfig router;
  ClusterConfig cluster;
  SshConfig ssh;
  // The `agent` section, serialized: opaque here, checked by the loader's validator; merged with
  // a launch's `agent` override.
  std::string agent_json = "{}";
  // USD per million tokens per model: the built-in prices, replaced or extended by `pricing`.
  PricingTable pricing = PricingTable::Defaults();
  // Where this configuration came from: a path, or "built-in defaults".
  std::string source = "built-in defaults";
  // Set when source is a file.
  std::optional<std::string> path;

  // workspace_root/cluster_subdir
  std::string SwarmsRoot() const;
  // The ssh host alias the Slurm commands go through: cluster.slurm.login_alias when set (even
  // to ""), else ssh.login_alias. Empty: run them on this machine.
  std::string SlurmLoginAlias() const;
  std::string WorkerAdvertiseHost() const;
};

// Parses a configuration document. Relative paths are taken relative to `base_dir`. Reports every
// unknown key and wrong type with its path, all at once; the `agent` section's through
// `validate_agent` (unset: an `agent` section is an error, since nothing can check it).
Result<Config> ParseConfig(std::string_view text, const std::string& source,
                           const std::string& base_dir,
                           const AgentSettingsValidator& validate_agent);

// Loads the configuration from `explicit_path`, else $CODESWARM_CONFIG, else
// $XDG_CONFIG_HOME/codeswarm/config.json (or ~/.config/...) when it exists, else built-in
// defaults. An explicitly named file that cannot be read is an error.
Result<Config> LoadConfig(const std::optional<std::string>& explicit_path,
                          const AgentSettingsValidator& validate_agent);

// $XDG_STATE_HOME/codeswarm, or ~/.local/state/codeswarm.
std::string DefaultStateDir();

}  // namespace codeswarm
