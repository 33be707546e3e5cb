#include "ctl/gameday/state.h"

#include <boost/json.hpp>

#include "common/json_util.h"

namespace json = boost::json;

namespace techmoda::ctl::gameday {

Result<DatabaseState> ReadDatabaseState(pg::Connection& c, const std::vector<std::string>& skus,
                                        const std::string& client_token) {
  DatabaseState s;
  std::string array = "{";
  for (const auto& k : skus) array += (array.size() > 1 ? "," : "") + ("\"" + k + "\"");
  array += "}";
  auto fail = [](const pg::Error& e, const char* what) { return pg::ToStatus(e, what); };
  auto stock = c.Exec("SELECT sku, on_hand, reserved FROM inventory WHERE sku = ANY($1::text[])", {array});
  if (auto* e = std::get_if<pg::Error>(&stock)) return fail(*e, "reading stock");
  auto& sr = std::get<pg::Rows>(stock);
  for (int i = 0; i < sr.size(); ++i) s.stock[std::string(sr.Get(i, 0))] = {sr.GetInt(i, 1), sr.GetInt(i, 2)};
  auto orders = c.Exec("SELECT id, status, lines::text FROM orders");
  if (auto* e = std::get_if<pg::Error>(&orders)) return fail(*e, "reading orders");
  auto& orow = std::get<pg::Rows>(orders);
  for (int i = 0; i < orow.size(); ++i) {
    StoredOrder o{std::string(orow.Get(i, 1)), {}};
    boost::system::error_code ec;
    json::value lines = json::parse(orow.Get(i, 2), ec);
    if (!ec && lines.is_array())
      for (const auto& l : lines.as_array())
        o.lines.emplace_back(std::string(l.at("sku").as_string()),
                             static_cast<int>(l.at("quantity").to_number<long long>()));
    s.orders[std::string(orow.Get(i, 0))] = std::move(o);
  }
  // The scope catalogd stores for a token (auth.cc): its SHA-256, never the token.
  auto keys = c.Exec("SELECT key, body::json->>'id' FROM idempotency_keys WHERE status = 201 AND scope = $1",
                     {Sha256Hex(client_token)});
  if (auto* e = std::get_if<pg::Error>(&keys)) return fail(*e, "reading idempotency keys");
  auto& kr = std::get<pg::Rows>(keys);
  for (int i = 0; i < kr.size(); ++i) s.keys_orders[std::string(kr.Get(i, 0))].emplace_back(kr.Get(i, 1));
  return s;
}

}  // namespace techmoda::ctl::gameday
