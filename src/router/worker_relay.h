// The router's side of cluster.slurm.connect "relay" (docs/SLURM.md): starts `codeswarm relay`
// on the login node over ssh before anything is launched, so that the address workers are told
// is the relay's. The port is kept in <state_dir>/relay.port, so that a restarted router asks
// for the port its running swarms' workers already dial.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "relay/relay_link.h"

namespace codeswarm::router {

// The ssh argv that runs `remote_argv` on the login node of `config` (provider/relay_ssh.h,
// wired in by main: the router does not see the providers).
using LoginNodeCommand = std::function<Result<std::vector<std::string>>(
    const Config& config, const std::vector<std::string>& remote_argv)>;

// The codeswarm binary the login node runs as the relay, as the login node sees it: installed
// first when the workers run the deployed binary (provider/deploy.h, wired in by main).
using RelayBinaryResolver = std::function<Result<std::string>(const Config& config)>;

// Without a resolver: cluster.slurm.worker_command, else this process's own binary.
std::string DefaultRelayBinary(const Config& config);

struct StartedRelay {
  std::unique_ptr<relay::RelayLink> link;
  std::string worker_address;  // host:port, what workers dial
};

// Starts the relay and waits for it (blocking); `on_connection` then receives every worker
// connection it carries. Borrows `io`, `pool` and `config`: they must outlive the link.
// `relay_binary` is asked once, before the first start; every relay of this router (a new one
// after the ssh session dropped) runs what it answered.
Result<StartedRelay> StartWorkerRelay(boost::asio::io_context& io, boost::asio::thread_pool& pool,
                                      const Config& config, const LoginNodeCommand& login_command,
                                      const RelayBinaryResolver& relay_binary,
                                      relay::RelayLink::ConnectionHandler on_connection);

}  // namespace codeswarm::router
