// Bearer tokens and their roles.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace techmoda::auth {

enum class Role { kAnonymous, kClient, kAdmin };

// Result of reading an Authorization header.
struct Identity {
  bool valid = true;  // false: a token was sent but is unknown or malformed (always 401)
  Role role = Role::kAnonymous;
  std::string scope;  // SHA-256 of the token (idempotency keys are scoped to it); empty if anonymous
  // The token may mark its orders synthetic (the canary's), which business figures leave out.
  bool marks_synthetic = false;
};

// A configured token: the secret, its role and what it may do beyond the role.
struct TokenGrant {
  std::string token;  // never logged
  Role role = Role::kClient;
  bool marks_synthetic = false;
};

// The configured tokens. Build once at start, then read-only and thread-safe. Tokens are kept
// only as SHA-256 digests and compared in constant time; they are never logged.
class TokenRegistry {
 public:
  void Add(std::string_view token, Role role, bool marks_synthetic = false);
  std::size_t size() const { return entries_.size(); }
  // `header` is the Authorization value, or empty when none was sent.
  Identity Authenticate(std::string_view header) const;

 private:
  struct Entry {
    unsigned char digest[32];
    Role role;
    bool marks_synthetic;
  };
  std::vector<Entry> entries_;
};

// True when `have` may do what needs `need` (admin may do everything a client may).
bool RoleAllows(Role have, Role need);

// "admin", "client": the configuration words for roles. False for anything else.
bool ParseRole(std::string_view text, Role* out);

}  // namespace techmoda::auth
