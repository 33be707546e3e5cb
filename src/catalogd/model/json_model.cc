#include "catalogd/model/json_model.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <optional>

namespace json = boost::json;

namespace techmoda::model {

json::value ToJson(const Money& m) { return {{"amount", m.amount}, {"currency", m.currency}}; }

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

void AppendJsonString(std::string& out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet appended, none of which needs escaping
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

std::string ProductJson(const Product& p) {
  std::string out;
  out.reserve(256 + p.name.size() + p.description.value_or("").size() + 64 * p.variants.size() +
              32 * p.attributes.size());
  auto key = [&out](const char* k) {
    out += '"';
    out += k;
    out += "\":";
  };
  out += '{';
  key("id");
  AppendJsonString(out, p.id);
  out += ',';
  key("name");
  AppendJsonString(out, p.name);
  if (p.description) {
    out += ',';
    key("description");
    AppendJsonString(out, *p.description);
  }
  if (p.brand) {
    out += ',';
    key("brand");
    AppendJsonString(out, *p.brand);
  }
  out += ',';
  key("category");
  AppendJsonString(out, p.category);
  out += ",\"price\":{\"amount\":" + std::to_string(p.price.amount) + ",\"currency\":";
  AppendJsonString(out, p.price.currency);
  out += "},\"attributes\":{";
  // A JSON object keeps one member per key, the last one given (as json::object's operator[] does).
  for (std::size_t i = 0; i < p.attributes.size(); ++i) {
    bool later = false;
    for (std::size_t j = i + 1; j < p.attributes.size() && !later; ++j)
      later = p.attributes[j].first == p.attributes[i].first;
    if (later) return json::serialize(ToJson(p));  // never from validated input; keep the one answer
    if (out.back() != '{') out += ',';
    AppendJsonString(out, p.attributes[i].first);
    out += ':';
    AppendJsonString(out, p.attributes[i].second);
  }
  out += "},\"variants\":[";
  for (std::size_t i = 0; i < p.variants.size(); ++i) {
    const Variant& v = p.variants[i];
    if (i) out += ',';
    out += "{\"sku\":";
    AppendJsonString(out, v.sku);
    if (v.size) {
      out += ",\"size\":";
      AppendJsonString(out, *v.size);
    }
    if (v.color) {
      out += ",\"color\":";
      AppendJsonString(out, *v.color);
    }
    out += '}';
  }
  out += "],";
  key("status");
  AppendJsonString(out, p.status);
  out += ",\"version\":" + std::to_string(p.version) + ',';
  key("created_at");
  AppendJsonString(out, p.created_at);
  out += ',';
  key("updated_at");
  AppendJsonString(out, p.updated_at);
  out += '}';
  return out;
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
  json::object out{{"id", o.id},
                   {"customer_id", o.customer_id},
                   {"status", o.status},
                   {"lines", OrderLinesToJson(o.lines)},
                   {"total", ToJson(o.total)},
                   {"created_at", o.created_at},
                   {"updated_at", o.updated_at}};
  if (o.synthetic) out["synthetic"] = true;  // only the canary's orders carry it
  return out;
}

namespace {
// Parses stored JSON into a thread-local arena (no allocation per node): the copy parses two such
// documents per product, a million products at a cold start. The value lives until the next call.
Result<json::value> ParseStored(std::string_view text) {
  thread_local unsigned char buffer[16384];
  thread_local std::optional<json::monotonic_resource> arena;
  arena.emplace(buffer, sizeof buffer);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, &*arena);
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
