#include "catalogd/model/etag.h"

namespace techmoda::model {

std::string EtagOf(std::int64_t version) { return "\"" + std::to_string(version) + "\""; }

bool EtagListMatches(std::string_view list, std::string_view etag, EtagComparison comparison) {
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view tag = list.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag == "*") return true;
    bool weak = tag.substr(0, 2) == "W/";
    if (weak) tag.remove_prefix(2);
    if (tag == etag && (!weak || comparison == EtagComparison::kWeak)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace techmoda::model
