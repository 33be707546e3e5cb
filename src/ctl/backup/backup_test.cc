#include "ctl/backup/backup.h"

#include <gtest/gtest.h>

namespace techmoda::ctl::backup {
namespace {

// `pgbackrest info --output=json` of pgBackRest 2.45: a stanza with a full and a differential backup.
const char* kInfo = R"([{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000009",
"min":"000000010000000000000003"}],"backup":[
{"archive":{"start":"000000010000000000000004","stop":"000000010000000000000004"},
 "backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":false,
 "info":{"delta":23068672,"repository":{"delta":3145728,"size":3145728},"size":23068672},
 "label":"20261126-140000F","lsn":{"start":"0/4000028","stop":"0/4000100"},"prior":null,"reference":null,
 "timestamp":{"start":1795701600,"stop":1795701604},"type":"full"},
{"archive":{"start":"000000010000000000000008","stop":"000000010000000000000008"},
 "backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":false,
 "info":{"delta":1048576,"repository":{"delta":131072,"size":3276800},"size":23592960},
 "label":"20261126-140000F_20261126-150000D","lsn":{"start":"0/8000028","stop":"0/8000100"},
 "prior":"20261126-140000F","reference":["20261126-140000F"],
 "timestamp":{"start":1795705200,"stop":1795705202},"type":"diff"}],
"cipher":"none","db":[{"id":1,"repo-key":1,"system-id":7312345678901234567,"version":"15"}],"name":"catalog",
"repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},
"message":"ok"}}])";

TEST(BackupInfo, ParsesSetsAndArchive) {
  auto info = ParseInfo(kInfo, "catalog");
  ASSERT_TRUE(info.ok()) << info.status().detail();
  EXPECT_EQ(info->status, "ok");
  EXPECT_EQ(info->wal_min, "000000010000000000000003");
  EXPECT_EQ(info->wal_max, "000000010000000000000009");
  ASSERT_EQ(info->sets.size(), 2u);
  EXPECT_EQ(info->sets[0].type, "full");
  EXPECT_EQ(info->sets[0].prior, "");
  EXPECT_EQ(info->sets[0].size, 23068672);
  EXPECT_EQ(info->sets[1].type, "diff");
  EXPECT_EQ(info->sets[1].prior, "20261126-140000F");
  EXPECT_EQ(info->sets[1].repo_delta, 131072);
  EXPECT_EQ(info->sets[1].stop - info->sets[1].start, 2);
  EXPECT_NE(FormatList(*info).find("20261126-140000F_20261126-150000D  diff  2026-11-26 15:00:00Z"), std::string::npos)
      << FormatList(*info);
}

TEST(BackupInfo, NamesAMissingStanzaAndBadOutput) {
  auto other = ParseInfo(kInfo, "shop");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().detail().find("no stanza 'shop'"), std::string::npos);
  EXPECT_FALSE(ParseInfo("ERROR: [055]: unable to load info file", "catalog").ok());
}

TEST(BackupSchedule, FullFirstThenDifferentialsThenFullAgain) {
  Backup policy;  // full every 24 h, diff every 4 h
  auto info = ParseInfo(kInfo, "catalog");
  ASSERT_TRUE(info.ok());
  const long long diff_stop = info->sets[1].stop, full_stop = info->sets[0].stop;

  EXPECT_EQ(NextBackup(diff_stop, {}, policy).type, "full");
  EXPECT_EQ(NextBackup(diff_stop + 60, info->sets, policy).type, "") << "a backup a minute old is fresh";
  auto diff = NextBackup(diff_stop + 4 * 3600, info->sets, policy);
  EXPECT_EQ(diff.type, "diff");
  EXPECT_NE(diff.reason.find("diff_every_h is 4"), std::string::npos) << diff.reason;
  auto full = NextBackup(full_stop + 24 * 3600, info->sets, policy);
  EXPECT_EQ(full.type, "full") << "a full is due even though a diff is newer";
  // Only differentials left (the full expired from under them is impossible, but be safe): a full.
  std::vector<BackupSet> diffs_only{info->sets[1]};
  EXPECT_EQ(NextBackup(diff_stop + 1, diffs_only, policy).type, "full");
}

}  // namespace
}  // namespace techmoda::ctl::backup
