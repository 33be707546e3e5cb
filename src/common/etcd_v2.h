// A small client of etcd's v2 keys API (/v2/keys/...), the store Patroni's `etcd` DCS uses: the
// failure detector reads Patroni's leader and sync keys, keeps its own suspicion records there, and
// removes a dead leader's key with a compare-and-delete. Synchronous, one request per call; each
// call tries the endpoint that answered last, then the others, each within `timeout`. Reads ask for
// a quorum read, so a member cut off from the majority answers none of them.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "techmoda/status.h"

namespace techmoda::etcd {

struct V2Node {
  std::string key, value;
  long long modified_index = 0;
  long long ttl = 0;  // seconds left; 0 when the key has none
};

class V2Client {
 public:
  // `endpoints`: "host:port" of each member, the one to try first first.
  V2Client(std::vector<std::string> endpoints, std::chrono::milliseconds timeout);

  // The key (nullopt when absent).
  Result<std::optional<V2Node>> Get(const std::string& key);
  // The keys directly under directory `dir` (empty when it is absent).
  Result<std::vector<V2Node>> List(const std::string& dir);
  // Sets the key; `ttl_s` > 0 makes it expire unless set again.
  Status Set(const std::string& key, const std::string& value, int ttl_s = 0);
  // Deletes the key only while it still holds `prev_value` and was last modified at `prev_index`
  // (0: any index). True when it was deleted; false when it had changed or was gone.
  Result<bool> CompareAndDelete(const std::string& key, const std::string& prev_value, long long prev_index);
  Status Delete(const std::string& key);

 private:
  struct Reply {
    int status = 0;
    std::string body;
  };
  Result<Reply> Call(const std::string& method, const std::string& target, const std::string& form);
  // The node at `key` (a key or a directory) by a quorum read; nullopt when it does not exist.
  Result<std::optional<boost::json::object>> QuorumGet(const std::string& key);
  std::vector<std::string> endpoints_;
  std::chrono::milliseconds timeout_;
  std::size_t preferred_ = 0;
};

// application/x-www-form-urlencoded and URL query escaping (RFC 3986 unreserved characters stay).
std::string FormEscape(std::string_view s);

}  // namespace techmoda::etcd
