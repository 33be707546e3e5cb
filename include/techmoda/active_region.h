// The record of which region takes writes: the global etcd's `<prefix>/active` value, written by
// catalogctl (`up`, `dr failover`, `dr failback`) and read by every catalogd, which writes only under
// a lease on its epoch. {"region": "a", "epoch": 3, "state": "active"}.
#pragma once

#include <string>
#include <string_view>

#include "techmoda/status.h"

namespace techmoda {

// Where an epoch stands. Only kActive lets writes start.
enum class EpochState {
  kActive,     // the region takes writes
  kDraining,   // a planned failover is under way: nobody starts a write
  kPromoting,  // a forced failover is under way: nobody starts a write
};

struct ActiveRegionRecord {
  std::string region;
  long long epoch = 0;
  EpochState state = EpochState::kActive;
  long long mod_revision = 0;  // etcd's, of the key when read; 0 when not read from etcd
};

// "active", "draining", "promoting".
std::string_view EpochStateName(EpochState state);

// Parses the record. A record without `state` is active (the form before failovers had states); one
// whose state is not known is invalid, so a reader fails closed.
Result<ActiveRegionRecord> ParseActiveRegionRecord(const std::string& json_text);
std::string ActiveRegionRecordJson(const ActiveRegionRecord& record);

}  // namespace techmoda
