#include "common/ids.h"

#include <sys/random.h>

#include <cerrno>
#include <stdexcept>

namespace codeswarm {

std::string RandomHex(int n) {
  std::string bytes(static_cast<std::size_t>(n), '\0');
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    ssize_t got = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // No entropy source means no secrets: refusing is the only safe answer.
      throw std::runtime_error("getrandom failed");
    }
    filled += static_cast<std::size_t>(got);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::string NewId(const std::string& prefix) { return prefix + "-" + RandomHex(4); }

std::string NewSecret() { return RandomHex(32); }

}  // namespace codeswarm
