// Zones prepared for the faults that must be in place before a zone starts (`drills:` in the
// topology): a pg_wal filesystem of the zone's own to fill, and a wall clock to move.
#pragma once

#include <string>

#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// drills.wal_disk_mb: mounts a tmpfs of that size, owned by the zone's user (0700), at each zone's
// Topology::WalDiskDir unless one is there. A zone whose database exists while its filesystem does
// not (the machine restarted: tmpfs is memory) is refused, since its WAL is gone.
// drills.clock_skew: checks that the clock-skew library is built and writes "+0" to each zone's
// offset file unless one is there.
Status PrepareDrillZones(const Topology& t);

// Unmounts the zones' pg_wal filesystems (their WAL is lost: `down --purge`, or a test's end).
// Returns how many were unmounted.
int ReleaseWalDisks(const Topology& t);

// Moves the wall clock of a zone's programs by `seconds` from the real one (0: back to it). They
// see it within a second (the library reads the file again every second).
Status SetClockOffset(const Zone& z, double seconds);

// The zone's current offset in seconds (0 when there is no file).
double ClockOffset(const Zone& z);

}  // namespace techmoda::ctl
