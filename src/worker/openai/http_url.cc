#include "worker/openai/http_url.h"

#include <optional>

#include "common/text.h"

namespace codeswarm::worker::openai {

Result<Url> ParseUrl(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("the URL \"" + std::string(text) + "\" " + why);
  };
  Url url;
  std::string_view rest;
  if (StartsWith(text, "https://")) {
    url.https = true;
    rest = text.substr(8);
  } else if (StartsWith(text, "http://")) {
    rest = text.substr(7);
  } else {
    return bad("does not start with http:// or https://");
  }
  std::size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!url.target.empty() && url.target.front() != '/') url.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) return bad("holds a user name: not supported");
  std::string_view port;
  if (StartsWith(authority, "[")) {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an unclosed '['");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("has text after ']'");
    if (!after.empty()) port = after.substr(1);
  } else {
    std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return bad("has no host");
  url.port = port.empty() ? (url.https ? "443" : "80") : std::string(port);
  std::optional<long long> number = ParseInteger(url.port);
  if (!number || *number < 1 || *number > 65535) return bad("has an invalid port");
  return url;
}

}  // namespace codeswarm::worker::openai
