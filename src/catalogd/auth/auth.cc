#include "catalogd/auth/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>

#include "common/json_util.h"

namespace techmoda::auth {
namespace {
void Digest(std::string_view data, unsigned char out[32]) {
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
}
}  // namespace

void TokenRegistry::Add(std::string_view token, Role role, bool marks_synthetic) {
  Entry e{};
  Digest(token, e.digest);
  e.role = role;
  e.marks_synthetic = marks_synthetic;
  entries_.push_back(e);
}

Identity TokenRegistry::Authenticate(std::string_view header) const {
  Identity id;
  if (header.empty()) return id;
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() || strncasecmp(header.data(), kScheme.data(), kScheme.size()) != 0) {
    id.valid = false;
    return id;
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) {
    id.valid = false;
    return id;
  }
  unsigned char d[32];
  Digest(token, d);
  // Visit every entry and compare digests in constant time, so timing reveals nothing.
  bool found = false;
  Role role = Role::kAnonymous;
  bool marks_synthetic = false;
  for (const auto& e : entries_) {
    bool eq = CRYPTO_memcmp(d, e.digest, sizeof d) == 0;
    found |= eq;
    if (eq) {
      role = e.role;
      marks_synthetic = e.marks_synthetic;
    }
  }
  if (!found) {
    id.valid = false;
    return id;
  }
  id.role = role;
  id.marks_synthetic = marks_synthetic;
  id.scope = Sha256Hex(token);
  return id;
}

bool RoleAllows(Role have, Role need) {
  if (need == Role::kAnonymous) return true;
  if (need == Role::kClient) return have == Role::kClient || have == Role::kAdmin;
  return have == Role::kAdmin;
}

bool ParseRole(std::string_view text, Role* out) {
  if (text == "admin")
    *out = Role::kAdmin;
  else if (text == "client")
    *out = Role::kClient;
  else
    return false;
  return true;
}

}  // namespace techmoda::auth
