// The web port's rules for browsers, without I/O (docs/SECURITY.md, "The web port").
#pragma once

#include <string>
#include <string_view>

namespace codeswarm::router {

// Sent with every response: scripts and styles only from the page's own files (no inline
// script, no eval), connections only back to this origin, nothing may frame the page.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Whether a Host header names this machine's loopback: "localhost", "127.x.y.z" or "[::1]",
// with or without a port. Anything else may be a DNS name an attacker points at 127.0.0.1
// (DNS rebinding), so the request is refused.
bool IsLoopbackHost(std::string_view host);

// Whether a WebSocket's Origin is the page's own: "http://" + the (loopback) Host it was served
// under. A page of any other origin, or a request with no Origin, may not open the socket.
bool IsOwnOrigin(std::string_view origin, std::string_view host);

// Why a request is refused before it is routed, or empty: Host must be loopback.
std::string HostRefusal(std::string_view host);

}  // namespace codeswarm::router
