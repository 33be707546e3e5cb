// Entity tags of products: "<version>", and the lists that If-Match and If-None-Match carry.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace techmoda::model {

enum class EtagComparison { kStrong, kWeak };

// The ETag of a product at `version`: "\"<version>\"".
std::string EtagOf(std::int64_t version);

// True when `list` (comma-separated entity tags, or "*") names `etag`. kWeak ignores W/ prefixes
// (If-None-Match); kStrong does not match weak tags (If-Match), per RFC 9110 section 8.8.3.2.
bool EtagListMatches(std::string_view list, std::string_view etag, EtagComparison comparison);

}  // namespace techmoda::model
