// A small etcd v3 client over etcd's JSON gateway (/v3/kv/..., /v3/lease/...), for the global etcd
// that holds which region is active and the leases that fence writes. Synchronous, one request per
// call; each call tries the endpoint that answered last, then the others, each within `timeout`.
// Reads are linearizable: a member cut off from the majority cannot answer them (nor keep a lease).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "techmoda/status.h"

namespace techmoda::etcd {

struct KeyValue {
  std::string key, value;
  long long create_revision = 0, mod_revision = 0, lease = 0;
};

class Client {
 public:
  // `endpoints`: "host:port" of each member.
  Client(std::vector<std::string> endpoints, std::chrono::milliseconds timeout);

  Result<std::optional<KeyValue>> Get(const std::string& key);
  Result<std::vector<KeyValue>> GetPrefix(const std::string& prefix);
  Status Put(const std::string& key, const std::string& value, long long lease = 0);
  // Writes `value` only if the key's mod_revision is still `expected_mod_revision` (0: the key is
  // absent). False when another writer came first.
  Result<bool> PutIf(const std::string& key, long long expected_mod_revision, const std::string& value);
  Status Delete(const std::string& key);
  // A lease of `ttl_s` seconds; its id.
  Result<long long> Grant(int ttl_s);
  // Renews the lease; returns its TTL, 0 when it has expired (keys attached to it are gone).
  Result<long long> KeepAlive(long long lease);
  Status Revoke(long long lease);

  // etcd's gateway wants standard base64 (with padding) for keys and values.
  static std::string Encode(const std::string& raw);
  static std::optional<std::string> Decode(const std::string& b64);

 private:
  Result<std::string> Call(const std::string& path, const std::string& body);
  std::vector<std::string> endpoints_;
  std::chrono::milliseconds timeout_;
  std::size_t preferred_ = 0;
};

// Every "host:port" of a comma-separated list (spaces and "http://" prefixes allowed).
std::vector<std::string> ParseEndpoints(const std::string& list);

}  // namespace techmoda::etcd
