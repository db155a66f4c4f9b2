#include "cli/endpoint.h"

#include <arpa/inet.h>

#include "common/text.h"

namespace codeswarm::cli {

std::string Endpoint::ToString() const {
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return shown + ":" + std::to_string(port);
}

Result<Endpoint> ParseEndpoint(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid router address \"" + std::string(text) +
                                   "\": " + std::string(why) + " (expected HOST:PORT)");
  };
  std::string_view host;
  std::string_view port;
  if (StartsWith(text, "[")) {
    std::size_t close = text.find("]:");
    if (close == std::string_view::npos) return bad("missing \"]:\" after an IPv6 address");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing \":PORT\"");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("put an IPv6 address in brackets");
  }
  if (host.empty()) return bad("empty host");
  std::optional<long long> number = ParseInteger(port);
  if (!number || *number < 1 || *number > 65535) return bad("port must be 1-65535");
  return Endpoint{std::string(host), static_cast<int>(*number)};
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

}  // namespace codeswarm::cli
