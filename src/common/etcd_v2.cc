#include "common/etcd_v2.h"

#include <boost/json.hpp>

#include "common/http_client.h"

namespace json = boost::json;

namespace techmoda::etcd {

namespace {

V2Node NodeOf(const json::object& n) {
  V2Node out;
  if (const auto* k = n.if_contains("key"); k && k->is_string()) out.key = std::string(k->as_string());
  if (const auto* v = n.if_contains("value"); v && v->is_string()) out.value = std::string(v->as_string());
  if (const auto* i = n.if_contains("modifiedIndex"); i && i->is_number())
    out.modified_index = i->to_number<long long>();
  if (const auto* t = n.if_contains("ttl"); t && t->is_number()) out.ttl = t->to_number<long long>();
  return out;
}

// etcd's v2 error code (100 key not found, 101 compare failed, ...), 0 when the body has none.
int ErrorCode(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return 0;
  const auto* c = v.as_object().if_contains("errorCode");
  return c && c->is_number() ? c->to_number<int>() : 0;
}

Result<json::object> NodeFrom(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("node") || !v.at("node").is_object())
    return Status::Unavailable("etcd answered no node: " + body.substr(0, 200));
  return v.at("node").as_object();
}

}  // namespace

std::string FormEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

V2Client::V2Client(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), timeout_(timeout) {}

Result<V2Client::Reply> V2Client::Call(const std::string& method, const std::string& target, const std::string& form) {
  HttpHeaders headers;
  if (!form.empty()) headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  // 5xx: this member cannot serve it (no leader, no quorum): another may.
  auto r = CallAnyMember(endpoints_, &preferred_, method, target, form, headers, timeout_,
                         [](const HttpResult& r) { return r.status != 0 && r.status < 500; });
  if (!r.ok()) return Status::Unavailable("etcd: " + r.status().detail());
  return Reply{r->status, std::move(r->body)};
}

Result<std::optional<json::object>> V2Client::QuorumGet(const std::string& key) {
  auto r = Call("GET", "/v2/keys" + key + "?quorum=true", "");
  if (!r.ok()) return r.status();
  if (r->status == 404 && ErrorCode(r->body) == 100) return std::optional<json::object>();
  if (r->status != 200)
    return Status::Unavailable("etcd GET " + key + ": " + std::to_string(r->status) + " " + r->body);
  auto node = NodeFrom(r->body);
  if (!node.ok()) return node.status();
  return std::optional<json::object>(std::move(*node));
}

Result<std::optional<V2Node>> V2Client::Get(const std::string& key) {
  auto node = QuorumGet(key);
  if (!node.ok()) return node.status();
  if (!node->has_value()) return std::optional<V2Node>();
  return std::optional<V2Node>(NodeOf(**node));
}

Result<std::vector<V2Node>> V2Client::List(const std::string& dir) {
  auto node = QuorumGet(dir);
  if (!node.ok()) return node.status();
  std::vector<V2Node> out;
  if (!node->has_value()) return out;
  if (const auto* nodes = (*node)->if_contains("nodes"); nodes && nodes->is_array())
    for (const auto& n : nodes->as_array())
      if (n.is_object()) out.push_back(NodeOf(n.as_object()));
  return out;
}

Status V2Client::Set(const std::string& key, const std::string& value, int ttl_s) {
  std::string form = "value=" + FormEscape(value) + (ttl_s > 0 ? "&ttl=" + std::to_string(ttl_s) : "");
  auto r = Call("PUT", "/v2/keys" + key, form);
  if (!r.ok()) return r.status();
  if (r->status != 200 && r->status != 201)
    return Status::Unavailable("etcd PUT " + key + ": " + std::to_string(r->status) + " " + r->body);
  return Status::Ok();
}

Result<bool> V2Client::CompareAndDelete(const std::string& key, const std::string& prev_value, long long prev_index) {
  std::string target = "/v2/keys" + key + "?prevValue=" + FormEscape(prev_value) +
                       (prev_index > 0 ? "&prevIndex=" + std::to_string(prev_index) : "");
  auto r = Call("DELETE", target, "");
  if (!r.ok()) return r.status();
  if (r->status == 200) return true;
  int code = ErrorCode(r->body);
  if (code == 100 || code == 101) return false;  // gone, or no longer what we saw
  return Status::Unavailable("etcd DELETE " + key + ": " + std::to_string(r->status) + " " + r->body);
}

Status V2Client::Delete(const std::string& key) {
  auto r = Call("DELETE", "/v2/keys" + key, "");
  if (!r.ok()) return r.status();
  if (r->status != 200 && !(r->status == 404 && ErrorCode(r->body) == 100))
    return Status::Unavailable("etcd DELETE " + key + ": " + std::to_string(r->status) + " " + r->body);
  return Status::Ok();
}

}  // namespace techmoda::etcd
