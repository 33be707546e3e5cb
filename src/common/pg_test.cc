#include "common/pg.h"

#include <gtest/gtest.h>

namespace techmoda::pg {
namespace {

TEST(CopyText, SplitUndoesAppendCopyField) {
  std::vector<std::string> values = {"plain", "tab\there", "new\nline", "back\\slash", "cr\rlf", "", "é ü 🧵"};
  std::string line;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) line += '\t';
    AppendCopyField(line, values[i]);
  }
  line += "\t\\N\n";
  CopyRow row;
  SplitCopyLine(line, row);
  ASSERT_EQ(row.fields.size(), values.size() + 1);
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(row.fields[i], values[i]) << i;
  EXPECT_FALSE(row.fields.back().has_value());
}

TEST(CopyText, DecodesEveryEscapePostgresWrites) {
  CopyRow row;
  SplitCopyLine("\\b\\f\\v\\x41\\101\\7z\t\\\\N\tend\\", row);
  ASSERT_EQ(row.fields.size(), 3u);
  EXPECT_EQ(row.fields[0], std::string("\b\f\vAA\az"));
  EXPECT_EQ(row.fields[1], "\\N");  // an escaped backslash then N: text, not NULL
  EXPECT_EQ(row.fields[2], "end\\");
}

}  // namespace
}  // namespace techmoda::pg

namespace techmoda::pg {
namespace {

TEST(ToStatus, TheSqlstateDecidesAndIsKept) {
  auto of = [](const char* sqlstate, bool lost = false) {
    return ToStatus(Error{sqlstate, "msg", "", lost}, "reading orders");
  };
  EXPECT_EQ(of("40001").retry(), Retry::kTransaction);
  EXPECT_EQ(of("40P01").retry(), Retry::kTransaction);
  for (const char* gone : {"08006", "57P01", "25006"}) {
    EXPECT_EQ(of(gone).code(), Code::kUnavailable) << gone;
    EXPECT_EQ(of(gone).retry(), Retry::kReconnect) << gone;
  }
  EXPECT_EQ(of("", true).retry(), Retry::kReconnect) << "a connection lost mid-statement";
  EXPECT_EQ(of("57014").retry(), Retry::kNo) << "a statement timeout is not a lost database";
  EXPECT_EQ(of("23505").code(), Code::kConflict);
  EXPECT_EQ(of("22021").code(), Code::kInvalidArgument);
  EXPECT_EQ(of("42P01").code(), Code::kInternal);
  EXPECT_EQ(of("42P01").sqlstate(), "42P01");
  EXPECT_EQ(of("42P01").detail(), "reading orders: msg (SQLSTATE 42P01)");
}

}  // namespace
}  // namespace techmoda::pg
