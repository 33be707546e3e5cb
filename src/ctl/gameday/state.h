// What the checker compares against: the database's orders, stock and idempotency keys, read once
// before the run and once after.
#pragma once

#include <string>
#include <vector>

#include "common/pg.h"
#include "common/status.h"
#include "ctl/gameday/checker.h"

namespace techmoda::ctl::gameday {

// Every order, the stock of `skus` and every idempotency key that made an order (201).
Result<DatabaseState> ReadDatabaseState(pg::Connection& c, const std::vector<std::string>& skus);

}  // namespace techmoda::ctl::gameday
