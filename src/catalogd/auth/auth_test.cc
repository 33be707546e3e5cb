#include "catalogd/auth/auth.h"

#include <gtest/gtest.h>

namespace techmoda::auth {
namespace {

TEST(TokenRegistry, RolesAndUnknownTokens) {
  TokenRegistry t;
  t.Add("admin-token-aaaaaaaaaaaa", Role::kAdmin);
  t.Add("client-token-bbbbbbbbbbb", Role::kClient);
  EXPECT_TRUE(t.Authenticate("").valid);
  EXPECT_EQ(t.Authenticate("").role, Role::kAnonymous);
  EXPECT_EQ(t.Authenticate("Bearer admin-token-aaaaaaaaaaaa").role, Role::kAdmin);
  EXPECT_EQ(t.Authenticate("bearer client-token-bbbbbbbbbbb").role, Role::kClient);
  EXPECT_FALSE(t.Authenticate("Bearer nope").valid);
  EXPECT_FALSE(t.Authenticate("Bearer ").valid);
  EXPECT_FALSE(t.Authenticate("Basic abc").valid);
  EXPECT_FALSE(t.Authenticate("admin-token-aaaaaaaaaaaa").valid);
  auto a = t.Authenticate("Bearer admin-token-aaaaaaaaaaaa");
  EXPECT_EQ(a.scope.size(), 64u);
  EXPECT_EQ(a.scope.find("admin"), std::string::npos);  // a digest, never the token
  EXPECT_NE(a.scope, t.Authenticate("Bearer client-token-bbbbbbbbbbb").scope);
}

TEST(RoleAllows, AdminDoesEverythingClientDoes) {
  EXPECT_TRUE(RoleAllows(Role::kAnonymous, Role::kAnonymous));
  EXPECT_FALSE(RoleAllows(Role::kAnonymous, Role::kClient));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Role::kClient));
  EXPECT_FALSE(RoleAllows(Role::kClient, Role::kAdmin));
}

}  // namespace
}  // namespace techmoda::auth
