#include "catalogd/model/json_model.h"

#include <boost/json/parse.hpp>

namespace json = boost::json;

namespace techmoda::model {

json::value ToJson(const Money& m) { return {{"amount", m.amount}, {"currency", m.currency}}; }

json::value VariantsToJson(const std::vector<Variant>& variants) {
  json::array a;
  for (const auto& v : variants) {
    json::object o{{"sku", v.sku}};
    if (v.size) o["size"] = *v.size;
    if (v.color) o["color"] = *v.color;
    a.push_back(std::move(o));
  }
  return a;
}

json::value AttributesToJson(const std::vector<std::pair<std::string, std::string>>& attributes) {
  json::object o;
  for (const auto& [k, v] : attributes) o[k] = v;
  return o;
}

json::value ToJson(const Product& p) {
  json::object o;
  o["id"] = p.id;
  o["name"] = p.name;
  if (p.description) o["description"] = *p.description;
  if (p.brand) o["brand"] = *p.brand;
  o["category"] = p.category;
  o["price"] = ToJson(p.price);
  o["attributes"] = AttributesToJson(p.attributes);
  o["variants"] = VariantsToJson(p.variants);
  o["status"] = p.status;
  o["version"] = p.version;
  o["created_at"] = p.created_at;
  o["updated_at"] = p.updated_at;
  return o;
}

json::value ToJson(const Stock& s) {
  return {{"sku", s.sku}, {"on_hand", s.on_hand}, {"reserved", s.reserved}, {"available", s.available()}};
}

json::value OrderLinesToJson(const std::vector<OrderLine>& lines) {
  json::array a;
  for (const auto& l : lines)
    a.push_back({{"sku", l.sku},
                 {"product_id", l.product_id},
                 {"quantity", l.quantity},
                 {"unit_price", ToJson(l.unit_price)},
                 {"line_total", ToJson(l.line_total)}});
  return a;
}

json::value ToJson(const Order& o) {
  return {{"id", o.id},
          {"customer_id", o.customer_id},
          {"status", o.status},
          {"lines", OrderLinesToJson(o.lines)},
          {"total", ToJson(o.total)},
          {"created_at", o.created_at},
          {"updated_at", o.updated_at}};
}

namespace {
Result<json::value> ParseStored(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Status::Internal("stored JSON is malformed: " + ec.message());
  return v;
}

Money MoneyFrom(const json::value& v) {
  const auto& o = v.as_object();
  return {o.at("amount").to_number<std::int64_t>(), std::string(o.at("currency").as_string())};
}
}  // namespace

Result<std::vector<Variant>> VariantsFromJson(std::string_view text) {
  auto v = ParseStored(text);
  if (!v.ok()) return v.status();
  try {
    std::vector<Variant> out;
    for (const auto& e : v->as_array()) {
      const auto& o = e.as_object();
      Variant var;
      var.sku = std::string(o.at("sku").as_string());
      if (auto* s = o.if_contains("size")) var.size = std::string(s->as_string());
      if (auto* s = o.if_contains("color")) var.color = std::string(s->as_string());
      out.push_back(std::move(var));
    }
    return out;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("stored variants are malformed: ") + e.what());
  }
}

Result<std::vector<std::pair<std::string, std::string>>> AttributesFromJson(std::string_view text) {
  auto v = ParseStored(text);
  if (!v.ok()) return v.status();
  try {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& kv : v->as_object()) out.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
    return out;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("stored attributes are malformed: ") + e.what());
  }
}

Result<std::vector<OrderLine>> OrderLinesFromJson(std::string_view text) {
  auto v = ParseStored(text);
  if (!v.ok()) return v.status();
  try {
    std::vector<OrderLine> out;
    for (const auto& e : v->as_array()) {
      const auto& o = e.as_object();
      OrderLine l;
      l.sku = std::string(o.at("sku").as_string());
      l.product_id = std::string(o.at("product_id").as_string());
      l.quantity = o.at("quantity").to_number<std::int64_t>();
      l.unit_price = MoneyFrom(o.at("unit_price"));
      l.line_total = MoneyFrom(o.at("line_total"));
      out.push_back(std::move(l));
    }
    return out;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("stored order lines are malformed: ") + e.what());
  }
}

}  // namespace techmoda::model
