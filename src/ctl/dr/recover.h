// Undoing a bad deployment (docs/runbooks/bad-deployment.md): `catalogctl dr recover --to-time T
// [--exclude-deploy D]` restores the state at T into a new cluster by pgBackRest point-in-time
// recovery, replays from the live cluster's change log every change after T that deployment D did not
// make, and makes the recovered cluster the region's database.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <vector>

#include "ctl/base/progress.h"
#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl::dr {

struct RecoverOptions {
  std::string to_time;         // any timestamptz PostgreSQL reads ("2026-11-26T17:00:00Z")
  std::string exclude_deploy;  // empty: replay every change after T
};

// One change of the log that was not applied, and why.
struct Conflict {
  long long id = 0;
  std::string entity, entity_id, action, deploy_id, reason;
};

struct RecoverReport {
  std::string region, zone, to_time, exclude_deploy, backup_label, kept_old_data;
  long long replayed = 0, skipped = 0, keys_copied = 0;
  std::map<std::string, long long> replayed_by_action, skipped_by_action;
  std::vector<Conflict> conflicts;
  std::vector<std::string> not_rebuilt;                // other regions that could not be rebuilt as standbys (down)
  std::vector<std::pair<std::string, double>> phases;  // name, seconds
  double writes_refused_s = 0;                         // from the old cluster's fence to the new leader
  double total_s = 0;
};

// Runs the whole recovery, printing progress. Needs root (pgBackRest and PostgreSQL run as the
// zone's user). Nothing is lost on failure: before the switch the live cluster is untouched (its
// write fence is lifted again), and the old primary's data is kept at `kept_old_data` after it.
Result<RecoverReport> Recover(const Topology& t, const RecoverOptions& o, const Progress& progress);
std::string FormatRecover(const RecoverReport& r);
boost::json::value RecoverJson(const RecoverReport& r);

// The replay rule for a product change (replace, archive) made after T: each field the change
// altered (before -> after) is set to its new value where the recovered row still holds the old one;
// a field that holds something else there (a skipped change altered it too) is a conflict. Fields:
// name, description, brand, category, price, attributes, variants, status.
struct ProductMerge {
  boost::json::object merged;          // the row to write (the current one with the change applied)
  std::vector<std::string> changed;    // fields set by this change
  std::vector<std::string> conflicts;  // fields that could not be set
};
ProductMerge MergeProductChange(const boost::json::object& current, const boost::json::value& before,
                                const boost::json::value& after);

}  // namespace techmoda::ctl::dr
