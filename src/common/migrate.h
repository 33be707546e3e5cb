// Versioned schema migrations, compiled in from migrations/*.sql.
#pragma once

#include "common/pg.h"
#include "techmoda/status.h"

namespace techmoda {

// Applies every migration newer than the database's, each in its own transaction, under a
// session advisory lock so that several processes starting at once apply each exactly once.
// Returns the schema version reached. Requires: a connection to the catalog database.
Result<int> ApplyMigrations(pg::Connection& conn);

// The newest migration version compiled into this binary.
int LatestMigrationVersion();

}  // namespace techmoda
