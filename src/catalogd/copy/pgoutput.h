// Decoding of PostgreSQL's logical replication stream: the walsender's CopyData frames ('w' data,
// 'k' keepalive) and the pgoutput plugin's messages (protocol version 1), as documented in
// "Streaming Replication Protocol" and "Logical Replication Message Formats". Values arrive in
// their text output form, the same text a SELECT returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "techmoda/status.h"

namespace techmoda::copy {

using Lsn = std::uint64_t;

// "16/B374D848" <-> 0x16B374D848. nullopt when malformed.
std::optional<Lsn> ParseLsn(std::string_view text);
std::string FormatLsn(Lsn lsn);

// Microseconds from the PostgreSQL epoch (2000-01-01 UTC) to the Unix epoch.
inline constexpr std::int64_t kPgEpochOffsetMicros = 946'684'800'000'000;

// One frame of a replication connection's CopyData.
struct Frame {
  enum class Kind { kData, kKeepalive } kind = Kind::kData;
  Lsn wal_start = 0;  // kData: where the data starts
  Lsn wal_end = 0;    // the server's position: for a keepalive, everything before it was sent
  bool reply_requested = false;
  std::string_view payload;  // kData: one pgoutput message (a view into the frame)
};
Result<Frame> ParseFrame(std::string_view bytes);

// The standby status update a client sends: written, flushed and applied up to the positions given
// (0 for "flushed" means none: the server then confirms nothing for this client).
std::string StatusUpdate(Lsn written, Lsn flushed, Lsn applied, std::int64_t now_unix_micros, bool reply_requested);
inline std::string StatusUpdate(Lsn lsn, std::int64_t now_unix_micros, bool reply_requested) {
  return StatusUpdate(lsn, lsn, lsn, now_unix_micros, reply_requested);
}

struct Column {
  enum class Kind { kNull, kUnchangedToast, kText } kind = Kind::kNull;
  std::string text;
};
using Tuple = std::vector<Column>;

struct Message {
  enum class Kind { kBegin, kCommit, kRelation, kInsert, kUpdate, kDelete, kTruncate, kOther } kind = Kind::kOther;
  Lsn lsn = 0;                           // kBegin: the final LSN; kCommit: the commit record's LSN
  Lsn end_lsn = 0;                       // kCommit: the end of the commit record
  std::int64_t commit_time = 0;          // kBegin, kCommit: microseconds since the PostgreSQL epoch
  std::uint32_t relation = 0;            // kRelation, kInsert, kUpdate, kDelete
  std::string relation_name;             // kRelation: "schema.table"
  std::vector<std::string> columns;      // kRelation: column names in order
  std::optional<Tuple> old_tuple;        // kUpdate, kDelete: the key or old row, when sent
  Tuple new_tuple;                       // kInsert, kUpdate
  std::vector<std::uint32_t> truncated;  // kTruncate: the relations
};
Result<Message> ParseMessage(std::string_view bytes);

}  // namespace techmoda::copy
