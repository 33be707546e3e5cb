#include "catalogd/model/cursor.h"

#include "common/json_util.h"

namespace techmoda::model {

namespace {
constexpr std::string_view kPrefix = "c1:";  // a version, so the format can change without ambiguity
}

std::string EncodeCursor(std::string_view last_id) {
  return Base64UrlEncode(std::string(kPrefix) + std::string(last_id));
}

std::optional<std::string> DecodeCursor(std::string_view cursor) {
  if (cursor.size() > 200) return std::nullopt;
  auto raw = Base64UrlDecode(cursor);
  if (!raw || raw->compare(0, kPrefix.size(), kPrefix) != 0) return std::nullopt;
  std::string id = raw->substr(kPrefix.size());
  if (!IsValidIdentifier(id)) return std::nullopt;
  return id;
}

}  // namespace techmoda::model
