#include "common/etcd_client.h"

#include <boost/json.hpp>

#include "common/http_client.h"
#include "common/json_util.h"

namespace json = boost::json;

namespace techmoda::etcd {

namespace {

long long Num(const json::value* v) {
  if (!v) return 0;
  if (v->is_string()) return std::atoll(std::string(v->as_string()).c_str());
  if (v->is_number()) return v->to_number<long long>();
  return 0;
}

Result<json::value> ParseReply(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return Status::Unavailable("etcd answered no JSON object: " + body.substr(0, 200));
  if (const auto* err = v.as_object().if_contains("error"))
    return Status::Unavailable("etcd: " + (err->is_string() ? std::string(err->as_string()) : json::serialize(*err)));
  return v;
}

KeyValue FromJson(const json::value& kv) {
  const auto& o = kv.as_object();
  KeyValue out;
  if (const auto* k = o.if_contains("key")) out.key = Client::Decode(std::string(k->as_string())).value_or("");
  if (const auto* v = o.if_contains("value")) out.value = Client::Decode(std::string(v->as_string())).value_or("");
  out.create_revision = Num(o.if_contains("create_revision"));
  out.mod_revision = Num(o.if_contains("mod_revision"));
  out.lease = Num(o.if_contains("lease"));
  return out;
}

// The first key after every key that starts with `prefix` (etcd's range_end for a prefix).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');
}

}  // namespace

std::vector<std::string> ParseEndpoints(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto end = list.find(',', start);
    std::string item = list.substr(start, end == std::string::npos ? std::string::npos : end - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.rfind("http://", 0) == 0) item = item.substr(7);
    if (!item.empty()) out.push_back(item);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string Client::Encode(const std::string& raw) {
  std::string b = Base64UrlEncode(raw);
  for (char& c : b) c = c == '-' ? '+' : (c == '_' ? '/' : c);
  while (b.size() % 4) b += '=';
  return b;
}

std::optional<std::string> Client::Decode(const std::string& b64) {
  std::string u = b64;
  while (!u.empty() && u.back() == '=') u.pop_back();
  for (char& c : u) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  return Base64UrlDecode(u);
}

Client::Client(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), timeout_(timeout) {}

Result<std::string> Client::Call(const std::string& path, const std::string& body) {
  auto r = CallAnyMember(endpoints_, &preferred_, "POST", path, body, {}, timeout_,
                         [](const HttpResult& r) { return r.status == 200; });
  if (!r.ok()) return Status::Unavailable("etcd: " + r.status().detail());
  return std::move(r->body);
}

Result<std::optional<KeyValue>> Client::Get(const std::string& key) {
  auto body = Call("/v3/kv/range", json::serialize(json::object{{"key", Encode(key)}}));
  if (!body.ok()) return body.status();
  auto v = ParseReply(*body);
  if (!v.ok()) return v.status();
  const auto* kvs = v->as_object().if_contains("kvs");
  if (!kvs || !kvs->is_array() || kvs->as_array().empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(FromJson(kvs->as_array().front()));
}

Result<std::vector<KeyValue>> Client::GetPrefix(const std::string& prefix) {
  auto body = Call("/v3/kv/range",
                   json::serialize(json::object{{"key", Encode(prefix)}, {"range_end", Encode(PrefixEnd(prefix))}}));
  if (!body.ok()) return body.status();
  auto v = ParseReply(*body);
  if (!v.ok()) return v.status();
  std::vector<KeyValue> out;
  if (const auto* kvs = v->as_object().if_contains("kvs"); kvs && kvs->is_array())
    for (const auto& kv : kvs->as_array()) out.push_back(FromJson(kv));
  return out;
}

Status Client::Put(const std::string& key, const std::string& value, long long lease) {
  json::object req{{"key", Encode(key)}, {"value", Encode(value)}};
  if (lease) req["lease"] = std::to_string(lease);
  auto body = Call("/v3/kv/put", json::serialize(req));
  if (!body.ok()) return body.status();
  auto v = ParseReply(*body);
  return v.ok() ? Status::Ok() : v.status();
}

Result<bool> Client::PutIf(const std::string& key, long long expected_mod_revision, const std::string& value) {
  json::object cmp{{"key", Encode(key)}, {"result", "EQUAL"}};
  if (expected_mod_revision == 0) {
    cmp["target"] = "CREATE";
    cmp["create_revision"] = "0";
  } else {
    cmp["target"] = "MOD";
    cmp["mod_revision"] = std::to_string(expected_mod_revision);
  }
  json::object req{
      {"compare", json::array{cmp}},
      {"success",
       json::array{json::object{{"request_put", json::object{{"key", Encode(key)}, {"value", Encode(value)}}}}}}};
  auto body = Call("/v3/kv/txn", json::serialize(req));
  if (!body.ok()) return body.status();
  auto v = ParseReply(*body);
  if (!v.ok()) return v.status();
  const auto* ok = v->as_object().if_contains("succeeded");
  return ok && ok->is_bool() && ok->as_bool();
}

Status Client::Delete(const std::string& key) {
  auto body = Call("/v3/kv/deleterange", json::serialize(json::object{{"key", Encode(key)}}));
  if (!body.ok()) return body.status();
  auto v = ParseReply(*body);
  return v.ok() ? Status::Ok() : v.status();
}

Result<long long> Client::Grant(int ttl_s) {
  auto body = Call("/v3/lease/grant", json::serialize(json::object{{"TTL", ttl_s}}));
  if (!body.ok()) return body.status();
  auto v = ParseReply(*body);
  if (!v.ok()) return v.status();
  long long id = Num(v->as_object().if_contains("ID"));
  if (!id) return Status::Unavailable("etcd granted no lease: " + *body);
  return id;
}

Result<long long> Client::KeepAlive(long long lease) {
  auto body = Call("/v3/lease/keepalive", json::serialize(json::object{{"ID", std::to_string(lease)}}));
  if (!body.ok()) return body.status();
  auto v = ParseReply(*body);
  if (!v.ok()) return v.status();
  const auto* result = v->as_object().if_contains("result");
  if (!result || !result->is_object()) return Status::Unavailable("etcd keepalive: " + *body);
  return Num(result->as_object().if_contains("TTL"));  // absent once expired
}

Status Client::Revoke(long long lease) {
  auto body = Call("/v3/lease/revoke", json::serialize(json::object{{"ID", std::to_string(lease)}}));
  if (!body.ok()) return body.status();
  auto v = ParseReply(*body);
  return v.ok() ? Status::Ok() : v.status();
}

}  // namespace techmoda::etcd
