// The far end of a real loopback connection, driven by hand from a test: a non-blocking socket
// that reads only when told, so a test can play a peer that stops reading. With small buffers
// on both ends, writes to a peer that does not read stall after a few kilobytes. StartTls makes
// it a worker of the TLS worker channel (common/channel_tls.h).
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/channel_tls.h"

namespace codeswarm::testing {

class LoopbackPeer {
 public:
  ~LoopbackPeer() { Close(); }

  // Handshakes as a worker holding `key` for swarm `identity`, running `io` (the code under
  // test) meanwhile; from then on Read and Write go through TLS. Returns whether it succeeded
  // within 10 s.
  bool StartTls(boost::asio::io_context& io, const std::string& identity, const std::string& key) {
    auto tls = tls::ChannelTls::ForWorker(identity, key);
    if (!tls.ok()) return false;
    tls_ = std::move(*tls);
    ssl_ = SSL_new(tls_->context().native_handle());
    SSL_set_fd(ssl_, fd_);
    SSL_set_connect_state(ssl_);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end) {
      int rc = SSL_do_handshake(ssl_);
      if (rc == 1) return true;
      int error = SSL_get_error(ssl_, rc);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) break;
      io.run_one_for(std::chrono::milliseconds(5));
    }
    ERR_clear_error();
    return false;
  }

  // Connects to a fresh listener on `io` and returns the accepted (the code under test's) end.
  boost::asio::ip::tcp::socket Connect(boost::asio::io_context& io, bool small_buffers) {
    using tcp = boost::asio::ip::tcp;
    tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd_, 0);
    int small = 4096;
    if (small_buffers) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(acceptor.local_endpoint().port());
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::fcntl(fd_, F_SETFL, O_NONBLOCK);
    tcp::socket socket = acceptor.accept();
    if (small_buffers) socket.set_option(boost::asio::socket_base::send_buffer_size(small));
    return socket;
  }

  // Takes what the kernel holds for this end; notes the end of the stream.
  void Read() {
    char buf[65536];
    if (ssl_ != nullptr) {
      int n;
      while ((n = SSL_read(ssl_, buf, sizeof buf)) > 0) {
        received_.append(buf, static_cast<std::size_t>(n));
      }
      int error = SSL_get_error(ssl_, n);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) saw_eof_ = true;
      ERR_clear_error();
      return;
    }
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, 0)) > 0) {
      received_.append(buf, static_cast<std::size_t>(n));
    }
    if (n == 0) saw_eof_ = true;
  }

  // Small writes only: the socket does not block.
  void Write(const std::string& bytes) {
    if (ssl_ != nullptr) {
      ASSERT_EQ(SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())),
                static_cast<int>(bytes.size()));
      return;
    }
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  void Close() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ssl_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  const std::string& received() const { return received_; }
  bool saw_eof() const { return saw_eof_; }

 private:
  int fd_ = -1;
  std::unique_ptr<tls::ChannelTls> tls_;
  SSL* ssl_ = nullptr;
  std::string received_;
  bool saw_eof_ = false;
};

// Runs `io` (and lets `reader` read, when given) until `done` holds or `deadline` has passed;
// returns `done()`.
inline bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                     LoopbackPeer* reader = nullptr,
                     std::chrono::steady_clock::duration deadline = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    io.run_one_for(std::chrono::milliseconds(5));
    if (reader != nullptr) reader->Read();
  }
  return true;
}

}  // namespace codeswarm::testing
