#include "router/http_policy.h"

#include <arpa/inet.h>

#include <cctype>
#include <string>

namespace codeswarm::router {

namespace {

// "name:port" -> "name"; "[::1]:port" -> "[::1]". Empty when the port is not digits.
std::string_view WithoutPort(std::string_view host) {
  std::size_t colon = host.rfind(':');
  std::size_t bracket = host.rfind(']');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    return host;
  }
  std::string_view port = host.substr(colon + 1);
  if (port.empty() || port.size() > 5) return {};
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return {};
  }
  return host.substr(0, colon);
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  std::string_view name = WithoutPort(host);
  if (name.empty()) return false;
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "localhost" || lower == "[::1]") return true;
  in_addr address{};
  if (::inet_pton(AF_INET, lower.c_str(), &address) != 1) return false;
  return (ntohl(address.s_addr) >> 24) == 127;
}

bool IsOwnOrigin(std::string_view origin, std::string_view host) {
  if (!IsLoopbackHost(host)) return false;
  std::string own = "http://" + std::string(host);
  if (origin.size() != own.size()) return false;
  for (std::size_t i = 0; i < own.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(origin[i])) !=
        std::tolower(static_cast<unsigned char>(own[i]))) {
      return false;
    }
  }
  return true;
}

std::string HostRefusal(std::string_view host) {
  if (IsLoopbackHost(host)) return "";
  return "Host \"" + std::string(host.substr(0, 200)) +
         "\" is not a loopback name: open the page as http://127.0.0.1:<port>/ or "
         "http://localhost:<port>/ (other names are refused against DNS rebinding)";
}

}  // namespace codeswarm::router
