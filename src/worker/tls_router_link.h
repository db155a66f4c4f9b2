// The worker's connection to the router, as WorkerCore's RouterLink: TCP, a TLS 1.3 handshake
// keyed by the swarm secret (common/channel_tls.h), then the router's lines through a LineChannel
// (framed reads, one bounded writer with a write time limit). The core hears OnConnected only
// once the router has proven it holds the swarm's key: before that no byte of the peer reaches
// it. Each attempt ends in exactly one OnConnectFailed or, after OnConnected, one OnDisconnected,
// always from a completion handler. Only worker_runtime.cc includes this (it brings in Asio).
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

#include "common/channel_tls.h"
#include "worker/worker_core.h"

namespace codeswarm::worker {

class TlsRouterLink : public RouterLink {
 public:
  // Borrows `io` and `tls`; they must outlive the link and every connection it made.
  static std::unique_ptr<TlsRouterLink> Make(boost::asio::io_context& io, tls::ChannelTls& tls,
                                             std::string host, std::string port);
  // Where the link reports; must outlive it.
  virtual void Bind(WorkerCore* core) = 0;
};

}  // namespace codeswarm::worker
