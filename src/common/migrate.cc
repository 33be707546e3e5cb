#include "common/migrate.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/log.h"

namespace techmoda {
namespace embedded {
std::vector<std::pair<std::string_view, std::string_view>> Migrations();
}

namespace {

// "0007_add_things.sql" -> 7.
int VersionOf(std::string_view name) { return std::stoi(std::string(name.substr(0, name.find('_')))); }

constexpr const char* kLockKey = "7243001";  // arbitrary, fixed: the migration lock of this schema

std::string ErrorText(const std::variant<pg::Rows, pg::Error>& r) {
  if (auto* e = std::get_if<pg::Error>(&r)) return e->sqlstate + " " + e->message;
  return "";
}

}  // namespace

int LatestMigrationVersion() {
  int v = 0;
  for (const auto& [name, sql] : embedded::Migrations()) v = std::max(v, VersionOf(name));
  return v;
}

Result<int> ApplyMigrations(pg::Connection& conn) {
  auto lock = conn.Exec(std::string("SELECT pg_advisory_lock(") + kLockKey + ")");
  if (std::holds_alternative<pg::Error>(lock)) return Status::Unavailable("migration lock: " + ErrorText(lock));
  struct Unlock {
    pg::Connection& c;
    ~Unlock() { c.Exec(std::string("SELECT pg_advisory_unlock(") + kLockKey + ")"); }
  } unlock{conn};

  auto made = conn.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
      "applied_at timestamptz NOT NULL DEFAULT now())");
  if (std::holds_alternative<pg::Error>(made)) return Status::Internal("schema_migrations: " + ErrorText(made));
  auto cur = conn.Exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (std::holds_alternative<pg::Error>(cur)) return Status::Internal("schema version: " + ErrorText(cur));
  int current = static_cast<int>(std::get<pg::Rows>(cur).GetInt(0, 0));

  auto migrations = embedded::Migrations();
  std::sort(migrations.begin(), migrations.end());
  if (current > LatestMigrationVersion())
    return Status::Internal("the database schema (version " + std::to_string(current) +
                            ") is newer than this binary knows (" + std::to_string(LatestMigrationVersion()) + ")");
  for (const auto& [name, sql] : migrations) {
    int v = VersionOf(name);
    if (v <= current) continue;
    auto begin = conn.Exec("BEGIN");
    auto run = conn.ExecScript(sql);
    if (std::holds_alternative<pg::Error>(run)) {
      conn.Exec("ROLLBACK");
      return Status::Internal("migration " + std::string(name) + " failed: " + ErrorText(run));
    }
    auto rec = conn.Exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                         {std::to_string(v), std::string(name)});
    auto commit = conn.Exec("COMMIT");
    if (std::holds_alternative<pg::Error>(rec) || std::holds_alternative<pg::Error>(commit) ||
        std::holds_alternative<pg::Error>(begin))
      return Status::Internal("recording migration " + std::string(name) + " failed");
    log::Info("migration.applied", {{"version", v}, {"name", name}});
    current = v;
  }
  return current;
}

}  // namespace techmoda
