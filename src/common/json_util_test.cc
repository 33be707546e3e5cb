#include "common/json_util.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <vector>

#include "techmoda/status.h"

namespace techmoda {
namespace {

TEST(CanonicalJson, KeyOrderAndWhitespaceDoNotMatter) {
  auto a = boost::json::parse(R"({"b": [1, {"y": 2, "x": 1}], "a": "s"})");
  auto b = boost::json::parse(R"({ "a":"s","b":[1,{"x":1,"y":2}] })");
  EXPECT_EQ(CanonicalJson(a), CanonicalJson(b));
  EXPECT_EQ(CanonicalJson(a), R"({"a":"s","b":[1,{"x":1,"y":2}]})");
  EXPECT_NE(CanonicalJson(boost::json::parse("[1,2]")), CanonicalJson(boost::json::parse("[2,1]")));
}

TEST(Utf8, CountsCodePointsAndRejectsMalformed) {
  EXPECT_EQ(CodePointCount("abc"), 3u);
  EXPECT_EQ(CodePointCount("é"), 1u);
  EXPECT_EQ(CodePointCount("😀x"), 2u);
  EXPECT_TRUE(IsValidUtf8("plain é 😀"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
}

TEST(Base64Url, RoundTripsAndRefusesJunk) {
  for (const std::string& s :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff", 2)})
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(s)), s);
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(Base64UrlDecode("Zm9v!").has_value());
  EXPECT_FALSE(Base64UrlDecode("Z").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());  // stray low bits: not the canonical spelling of "f"
}

TEST(Identifiers, FollowTheContractPattern) {
  EXPECT_TRUE(IsValidIdentifier("tm-000123-M-WHT"));
  EXPECT_TRUE(IsValidIdentifier("a"));
  EXPECT_TRUE(IsValidIdentifier(std::string(64, 'a')));
  EXPECT_FALSE(IsValidIdentifier(std::string(65, 'a')));
  EXPECT_FALSE(IsValidIdentifier(""));
  EXPECT_FALSE(IsValidIdentifier("-a"));
  EXPECT_FALSE(IsValidIdentifier("a b"));
  EXPECT_FALSE(IsValidIdentifier("a/b"));
  EXPECT_FALSE(IsValidIdentifier("é"));
}

TEST(Hashing, Sha256KnownAnswer) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(RandomHex(8).size(), 16u);
  EXPECT_NE(RandomHex(8), RandomHex(8));
}

}  // namespace
}  // namespace techmoda

namespace techmoda {
namespace {
// A Result's status() is the error, or Ok when it holds a value: callers that only want to know
// whether it worked may ask either way (the region watcher once threw on a successful failover).
TEST(Result, StatusIsOkWhenItHoldsAValue) {
  Result<int> good(7);
  EXPECT_TRUE(good.status().ok());
  Result<int> bad(Status::Unavailable("gone"));
  EXPECT_FALSE(bad.status().ok());
  EXPECT_EQ(bad.status().detail(), "gone");
}
}  // namespace
}  // namespace techmoda
