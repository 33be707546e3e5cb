#include "catalogd/model/cursor.h"

#include <gtest/gtest.h>

#include "common/json_util.h"

namespace techmoda::model {
namespace {

TEST(Cursor, RoundTripsAndRefusesForgeries) {
  EXPECT_EQ(DecodeCursor(EncodeCursor("tm-000123")), "tm-000123");
  EXPECT_FALSE(DecodeCursor("").has_value());
  EXPECT_FALSE(DecodeCursor("not base64!").has_value());
  EXPECT_FALSE(DecodeCursor(Base64UrlEncode("tm-000123")).has_value());  // no version prefix
  EXPECT_FALSE(DecodeCursor(Base64UrlEncode("c1:bad id")).has_value());  // not an id
  EXPECT_FALSE(DecodeCursor(std::string(300, 'A')).has_value());
}

}  // namespace
}  // namespace techmoda::model
