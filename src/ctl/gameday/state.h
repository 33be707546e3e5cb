// What the checker compares against: the database's orders, stock and idempotency keys, read once
// before the run and once after.
#pragma once

#include <string>
#include <vector>

#include "common/pg.h"
#include "ctl/gameday/checker.h"
#include "techmoda/status.h"

namespace techmoda::ctl::gameday {

// Every order, the stock of `skus` and every idempotency key of `client_token` that made an order (201).
// Keys are scoped per client token (another client may use the same key for its own order), so only the
// load's own token's keys are judged.
Result<DatabaseState> ReadDatabaseState(pg::Connection& c, const std::vector<std::string>& skus,
                                        const std::string& client_token);

}  // namespace techmoda::ctl::gameday
