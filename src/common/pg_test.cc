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
