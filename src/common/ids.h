// Identifiers and secrets drawn from the kernel's CSPRNG.
#pragma once

#include <string>

namespace codeswarm {

// `n` random bytes as 2n lowercase hex characters.
std::string RandomHex(int n);

// "<prefix>-<8 hex>", e.g. "s-3f9a1c2e" for swarms, "i-..." for injections.
std::string NewId(const std::string& prefix);

// A 256-bit secret, hex encoded.
std::string NewSecret();


}  // namespace codeswarm
