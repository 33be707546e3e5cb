#include "catalogd/copy/pgoutput.h"

#include <gtest/gtest.h>

namespace techmoda::copy {
namespace {

// Builds protocol bytes the way the server sends them (big-endian).
class Bytes {
 public:
  Bytes& Byte(char c) {
    s_ += c;
    return *this;
  }
  Bytes& Int(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) s_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  Bytes& Str(const std::string& v) {
    s_ += v;
    s_ += '\0';
    return *this;
  }
  Bytes& Text(const std::string& v) {
    Byte('t').Int(v.size(), 4);
    s_ += v;
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

TEST(PgOutput, LsnRoundTripsAndRejectsMalformed) {
  EXPECT_EQ(ParseLsn("16/B374D848"), 0x16B374D848ull);
  EXPECT_EQ(FormatLsn(0x16B374D848ull), "16/B374D848");
  EXPECT_EQ(ParseLsn("0/0"), 0u);
  for (auto bad : {"", "/", "1/", "/1", "G/1", "123456789/0", "1/123456789", "1-2", "1/2/3"})
    EXPECT_FALSE(ParseLsn(bad).has_value()) << bad;
}

TEST(PgOutput, ParsesFramesAndBuildsStatusUpdates) {
  auto data = Bytes().Byte('w').Int(10, 8).Int(20, 8).Int(0, 8).Byte('B').str();
  auto f = ParseFrame(data);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, Frame::Kind::kData);
  EXPECT_EQ(f->wal_start, 10u);
  EXPECT_EQ(f->payload, "B");
  auto k = ParseFrame(Bytes().Byte('k').Int(0xABCDEF, 8).Int(0, 8).Byte(1).str());
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->kind, Frame::Kind::kKeepalive);
  EXPECT_EQ(k->wal_end, 0xABCDEFu);
  EXPECT_TRUE(k->reply_requested);
  EXPECT_FALSE(ParseFrame("k\x01").ok());  // short
  EXPECT_FALSE(ParseFrame("x").ok());
  std::string st = StatusUpdate(0x0102030405060708ull, kPgEpochOffsetMicros, false);
  ASSERT_EQ(st.size(), 34u);
  EXPECT_EQ(st[0], 'r');
  EXPECT_EQ(st.substr(1, 8), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(st.substr(25, 8), std::string(8, '\0'));  // the PostgreSQL epoch itself
}

TEST(PgOutput, ParsesATransaction) {
  auto rel = ParseMessage(Bytes()
                              .Byte('R')
                              .Int(16384, 4)
                              .Str("public")
                              .Str("inventory")
                              .Byte('d')
                              .Int(3, 2)
                              .Byte(1)
                              .Str("sku")
                              .Int(25, 4)
                              .Int(0xffffffff, 4)
                              .Byte(0)
                              .Str("on_hand")
                              .Int(20, 4)
                              .Int(0xffffffff, 4)
                              .Byte(0)
                              .Str("note")
                              .Int(25, 4)
                              .Int(0xffffffff, 4)
                              .str());
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(rel->kind, Message::Kind::kRelation);
  EXPECT_EQ(rel->relation_name, "public.inventory");
  EXPECT_EQ(rel->columns, (std::vector<std::string>{"sku", "on_hand", "note"}));

  auto ins = ParseMessage(Bytes().Byte('I').Int(16384, 4).Byte('N').Int(3, 2).Text("a-1").Text("7").Byte('n').str());
  ASSERT_TRUE(ins.ok());
  EXPECT_EQ(ins->kind, Message::Kind::kInsert);
  ASSERT_EQ(ins->new_tuple.size(), 3u);
  EXPECT_EQ(ins->new_tuple[0].text, "a-1");
  EXPECT_EQ(ins->new_tuple[2].kind, Column::Kind::kNull);

  auto upd = ParseMessage(Bytes().Byte('U').Int(16384, 4).Byte('N').Int(2, 2).Text("a-1").Byte('u').str());
  ASSERT_TRUE(upd.ok());
  EXPECT_FALSE(upd->old_tuple.has_value());
  EXPECT_EQ(upd->new_tuple[1].kind, Column::Kind::kUnchangedToast);

  auto del = ParseMessage(Bytes().Byte('D').Int(16384, 4).Byte('K').Int(2, 2).Text("a-1").Byte('n').str());
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->kind, Message::Kind::kDelete);
  EXPECT_EQ((*del->old_tuple)[0].text, "a-1");

  auto commit = ParseMessage(Bytes().Byte('C').Byte(0).Int(100, 8).Int(120, 8).Int(5, 8).str());
  ASSERT_TRUE(commit.ok());
  EXPECT_EQ(commit->lsn, 100u);
  EXPECT_EQ(commit->end_lsn, 120u);
  EXPECT_EQ(commit->commit_time, 5);
}

TEST(PgOutput, RejectsTruncatedMessagesWithoutReadingPastThem) {
  std::string ins = Bytes().Byte('I').Int(16384, 4).Byte('N').Int(1, 2).Text("abcdef").str();
  for (std::size_t n = 1; n < ins.size(); ++n) EXPECT_FALSE(ParseMessage(ins.substr(0, n)).ok()) << n;
  // A length that points past the end.
  EXPECT_FALSE(ParseMessage(Bytes().Byte('I').Int(1, 4).Byte('N').Int(1, 2).Byte('t').Int(1u << 30, 4).str()).ok());
  EXPECT_FALSE(ParseMessage(Bytes().Byte('U').Int(1, 4).Byte('X').str()).ok());
  EXPECT_TRUE(ParseMessage("Y").ok());  // a message the copy does not need is skipped, not an error
}

}  // namespace
}  // namespace techmoda::copy
