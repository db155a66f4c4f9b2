// An http:// or https:// URL as the HTTP client needs it. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace codeswarm::worker::openai {

struct Url {
  bool https = false;
  std::string host;  // without the brackets of an IPv6 literal
  std::string port;
  std::string target;

  std::string Authority() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return h + ":" + port;
  }
  std::string HostHeader() const {
    bool default_port = port == (https ? "443" : "80");
    return default_port ? Authority().substr(0, Authority().rfind(':')) : Authority();
  }
  std::string Key() const { return (https ? "https://" : "http://") + Authority(); }
};

// Parses "http[s]://host[:port][/target]" (IPv6 literals in brackets); no user info. Errors quote
// the URL and say what is wrong with it.
Result<Url> ParseUrl(std::string_view text);

}  // namespace codeswarm::worker::openai
