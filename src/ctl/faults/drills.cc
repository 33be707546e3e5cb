#include "ctl/faults/drills.h"

#include "ctl/faults/faults.h"

namespace techmoda::ctl {

std::string_view RecoveryClassName(RecoveryClass c) {
  switch (c) {
    case RecoveryClass::kNone:
      return "";
    case RecoveryClass::kZone:
      return "zone";
    case RecoveryClass::kDatabase:
      return "database";
    case RecoveryClass::kRegion:
      return "region";
    case RecoveryClass::kDeploy:
      return "deploy";
  }
  return "";
}

const std::vector<Drill>& Drills() {
  using T = DrillTarget;
  using R = RecoveryClass;
  static const std::vector<Drill> kDrills = {
      {"kill-zone", T::kZone, R::kZone, "SIGKILL every process of the zone (etcd, Patroni, PostgreSQL, catalogd)",
       &FaultKillZone},
      {"stop-zone", T::kZone, R::kZone,
       "SIGSTOP every process of the zone (a frozen host); resumed after --for, or by heal", &FaultStopZone, true},
      {"partition-zone", T::kZone, R::kZone, "cut the zone off from the other zones of its region (nftables)",
       &FaultPartitionZone},
      {"partition-zone-out", T::kZone, R::kZone,
       "the zone cannot send to the other zones of its region; they can send to it", &FaultPartitionZoneOut},
      {"partition-zone-in", T::kZone, R::kZone,
       "the other zones of its region cannot send to the zone; it can send to them", &FaultPartitionZoneIn},
      {"kill-postgres", T::kZone, R::kDatabase, "SIGKILL the zone's postmaster; Patroni lives on", &FaultKillPostgres},
      {"stop-postgres", T::kZone, R::kDatabase,
       "SIGSTOP the zone's PostgreSQL alone (a hung disk); resumed after --for, or by heal", &FaultStopPostgres, true},
      {"stop-patroni", T::kZone, R::kDatabase,
       "SIGSTOP the zone's Patroni alone (PostgreSQL serves on); resumed after --for, or by heal", &FaultStopPatroni,
       true},
      {"fill-wal-disk", T::kZone, R::kDatabase,
       "fill the filesystem under the zone's pg_wal until PostgreSQL cannot write WAL (drills.wal_disk_mb)",
       &FaultFillWalDisk},
      {"skew-clock", T::kZone, R::kNone,
       "move the wall clock of the zone's Patroni, PostgreSQL, detector and catalogd --by SECONDS "
       "(drills.clock_skew); set right after --for, or by heal",
       &FaultSkewClock, true, true},
      {"kill-etcd-majority", T::kZone, R::kDatabase,
       "SIGKILL the etcd members of the zone and of enough others of its region to leave no majority",
       &FaultKillEtcdMajority},
      {"kill-region", T::kRegion, R::kRegion, "SIGKILL every process of the region, its HAProxy and etcd member",
       &FaultKillRegion},
      {"partition-region", T::kRegion, R::kRegion,
       "cut the region off from the other regions and the witness (its clients still reach it)", &FaultPartitionRegion},
      {"stall-archive", T::kRegion, R::kNone, "make the region's WAL archiving fail", &FaultStallArchive},
  };
  return kDrills;
}

const Drill* FindDrill(std::string_view name) {
  for (const auto& d : Drills())
    if (d.name == name) return &d;
  return nullptr;
}

std::string DrillNames() {
  std::string out;
  for (const auto& d : Drills()) out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

}  // namespace techmoda::ctl
