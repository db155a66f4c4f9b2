#include "relay/relay_main.h"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <thread>

#include "common/logging.h"
#include "relay/mux_bridge.h"

namespace codeswarm::relay {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

template <typename T>
bool ParseNumber(const std::string& text, T* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string Hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

class Relay final : public MuxBridgeHandler {
 public:
  explicit Relay(const RelayOptions& options) : options_(options) {}

  Status Listen() {
    boost::system::error_code ec;
    asio::ip::address address = asio::ip::make_address(options_.listen_host, ec);
    if (ec) return Status::InvalidArgument("--listen-host " + options_.listen_host + ": " + ec.message());
    const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<long>(options_.bind_wait_seconds * 1000));
    for (;;) {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      acceptor_.open(endpoint.protocol(), ec);
      if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor_.bind(endpoint, ec);
      if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
      if (!ec) break;
      // The relay this one replaces may still hold the port for a moment: its ssh session ends
      // first, then it notices.
      if (ec != asio::error::address_in_use || std::chrono::steady_clock::now() >= deadline) {
        return Status::IoError("cannot listen on " + options_.listen_host + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ::fcntl(acceptor_.native_handle(), F_SETFD, FD_CLOEXEC);
    return Status::Ok();
  }

  int Run() {
    MuxBridgeOptions bridge_options;
    bridge_options.local_name = "worker";
    bridge_options.first_byte_timeout =
        std::chrono::milliseconds(static_cast<long>(options_.hello_timeout_seconds * 1000));
    bridge_ = MuxBridge::Create(io_, STDIN_FILENO, STDOUT_FILENO, bridge_options, *this);
    const int port = acceptor_.local_endpoint().port();
    const std::string host =
        options_.advertise_host.empty() ? Hostname() : options_.advertise_host;
    bridge_->SendHello({host, port});
    bridge_->Start();
    spdlog::info("codeswarm relay {} listening on {}:{} (workers dial {}:{})", CODESWARM_VERSION,
                 options_.listen_host, port, host, port);
    Accept();
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      spdlog::info("received signal {}; exiting", sig);
      Stop();
    });
    io_.run();
    return exit_code_;
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (stopped_) return;
      if (ec) {
        spdlog::warn("accepting a connection failed: {}", ec.message());
      } else {
        boost::system::error_code ignored;
        tcp::endpoint remote = socket.remote_endpoint(ignored);
        const std::string peer = remote.address().to_string() + ":" + std::to_string(remote.port());
        if (bridge_->channel_count() >= static_cast<std::size_t>(options_.max_connections)) {
          spdlog::warn("connection from {} refused: {} connections already", peer,
                       options_.max_connections);
        } else {
          socket.set_option(tcp::no_delay(true), ignored);
          socket.set_option(asio::socket_base::keep_alive(true), ignored);
          ChannelId id = bridge_->Open(socket.release(), peer);
          spdlog::info("connection {} from {}", id, peer);
        }
      }
      Accept();
    });
  }

  void OnChannelClosed(ChannelId id, const std::string& peer, const std::string& reason) override {
    spdlog::info("connection {} from {} closed: {}", id, peer, reason);
  }

  void OnEnded(const std::string& reason) override {
    spdlog::info("the router's session ended ({}); exiting", reason);
    Stop();
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    signals_.cancel(ignored);
    if (bridge_) bridge_->Shutdown();
    io_.stop();
  }

  const RelayOptions options_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  asio::signal_set signals_{io_, SIGINT, SIGTERM, SIGHUP};
  std::shared_ptr<MuxBridge> bridge_;
  bool stopped_ = false;
  int exit_code_ = 0;
};

}  // namespace

Result<RelayOptions> ParseRelayArgs(const std::vector<std::string>& args) {
  RelayOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) return Status::InvalidArgument(flag + " needs a value");
    const std::string& value = args[++i];
    bool ok = true;
    if (flag == "--listen-host") {
      options.listen_host = value;
    } else if (flag == "--port") {
      ok = ParseNumber(value, &options.port) && options.port >= 0 && options.port <= 65535;
    } else if (flag == "--advertise-host") {
      options.advertise_host = value;
      ok = value.find_first_of(" \t\r\n") == std::string::npos;
    } else if (flag == "--hello-timeout") {
      ok = ParseNumber(value, &options.hello_timeout_seconds) && options.hello_timeout_seconds > 0;
    } else if (flag == "--max-connections") {
      ok = ParseNumber(value, &options.max_connections) && options.max_connections > 0;
    } else if (flag == "--bind-wait") {
      ok = ParseNumber(value, &options.bind_wait_seconds) && options.bind_wait_seconds >= 0;
    } else if (flag == "--log-level") {
      options.log_level = value;
    } else {
      return Status::InvalidArgument("unknown option " + flag);
    }
    if (!ok) return Status::InvalidArgument("invalid value for " + flag + ": \"" + value + "\"");
  }
  return options;
}

std::vector<std::string> RelayArgs(const RelayOptions& options) {
  auto number = [](double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return std::string(text);
  };
  std::vector<std::string> args = {"--listen-host", options.listen_host, "--port",
                                   std::to_string(options.port)};
  if (!options.advertise_host.empty()) args.insert(args.end(), {"--advertise-host", options.advertise_host});
  args.insert(args.end(), {"--hello-timeout", number(options.hello_timeout_seconds),
                           "--max-connections", std::to_string(options.max_connections),
                           "--bind-wait", number(options.bind_wait_seconds), "--log-level",
                           options.log_level});
  return args;
}

int RunRelay(const RelayOptions& options) {
  if (Status s = InitLogging(options.log_level, "", "relay"); !s.ok()) {
    std::fprintf(stderr, "codeswarm relay: %s\n", s.message().c_str());
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  Relay relay(options);
  if (Status s = relay.Listen(); !s.ok()) {
    spdlog::error("cannot start: {}", s.message());
    return 1;
  }
  return relay.Run();
}

int RelayCommand(const std::vector<std::string>& args) {
  Result<RelayOptions> options = ParseRelayArgs(args);
  if (!options.ok()) {
    std::fprintf(stderr, "codeswarm relay: %s\n", options.status().message().c_str());
    return 2;
  }
  return RunRelay(*options);
}

}  // namespace codeswarm::relay
