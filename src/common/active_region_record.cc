#include "techmoda/active_region.h"

#include <boost/json.hpp>

namespace json = boost::json;

namespace techmoda {

std::string_view EpochStateName(EpochState state) {
  switch (state) {
    case EpochState::kActive:
      return "active";
    case EpochState::kDraining:
      return "draining";
    case EpochState::kPromoting:
      return "promoting";
  }
  return "active";
}

Result<ActiveRegionRecord> ParseActiveRegionRecord(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return Status::Invalid("active region: not a JSON object: " + text);
  const auto& o = v.as_object();
  ActiveRegionRecord a;
  const auto* region = o.if_contains("region");
  const auto* epoch = o.if_contains("epoch");
  if (!region || !region->is_string() || !epoch || !epoch->is_int64())
    return Status::Invalid("active region: needs region (string) and epoch (integer): " + text);
  a.region = std::string(region->as_string());
  a.epoch = epoch->as_int64();
  if (const auto* s = o.if_contains("state")) {
    bool known = false;
    for (auto candidate : {EpochState::kActive, EpochState::kDraining, EpochState::kPromoting})
      if (s->is_string() && s->as_string() == EpochStateName(candidate)) {
        a.state = candidate;
        known = true;
      }
    if (!known) return Status::Invalid("active region: unknown state: " + text);
  }
  return a;
}

std::string ActiveRegionRecordJson(const ActiveRegionRecord& a) {
  return json::serialize(
      json::object{{"region", a.region}, {"epoch", a.epoch}, {"state", std::string(EpochStateName(a.state))}});
}

}  // namespace techmoda
