// The rate-limit setting of catalogd (`--rate-limit-*`) and of the topology file (`catalogd:
// rate_limit_*`): one format, checked by catalogctl when it reads a topology and by catalogd at start.
#pragma once

#include <string_view>

#include "techmoda/status.h"

namespace techmoda {

struct RateLimit {
  double per_second = 0;  // 0: unlimited
  double burst = 0;       // bucket size; at least 1 when limited
};

// "RATE/BURST" ("200/400"), "RATE" (burst = 2 × rate) or "0" / "off" (unlimited); kInvalidArgument
// with the accepted forms otherwise.
Result<RateLimit> ParseRateLimit(std::string_view text);

}  // namespace techmoda
