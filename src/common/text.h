// Small text utilities: UTF-8 validation, trimming, splitting.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace codeswarm {

// Returns the byte offset of the first invalid UTF-8 sequence, or nullopt when `text` is valid
// (overlong encodings, surrogates and code points above U+10FFFF are invalid).
std::optional<std::size_t> FindInvalidUtf8(std::string_view text);

std::string_view TrimWhitespace(std::string_view text);
std::vector<std::string_view> SplitString(std::string_view text, char separator);
bool StartsWith(std::string_view text, std::string_view prefix);

// Parses a whole decimal integer (optional leading '-'); nullopt on anything else.
std::optional<long long> ParseInteger(std::string_view text);

// The longest prefix of `text` of at most `max_bytes` that does not end inside a UTF-8 sequence.
std::string_view Utf8Prefix(std::string_view text, std::size_t max_bytes);

// Returns `text` cut to at most `max_bytes` on a UTF-8 boundary, with "..." appended when cut.
std::string Ellipsize(std::string_view text, std::size_t max_bytes);

}  // namespace codeswarm
