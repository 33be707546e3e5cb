#include "catalogd/model/validate.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parser.hpp>
#include <set>

#include "catalogd/model/cursor.h"
#include "common/json_util.h"

namespace json = boost::json;

namespace techmoda::model {
namespace {

// Escapes a member name for a JSON pointer (RFC 6901).
std::string PointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

// Collects field errors so a client learns every problem in one answer.
class Checker {
 public:
  void Fail(std::string pointer, std::string message) { errors_.push_back({std::move(pointer), std::move(message)}); }
  bool ok() const { return errors_.empty(); }
  Status ToStatus(std::string detail) { return Status::Invalid(std::move(detail), std::move(errors_)); }

  // Rejects members not in `allowed`. Returns false if `v` is not an object.
  bool Object(const json::value& v, const std::string& ptr, std::initializer_list<std::string_view> allowed) {
    if (!v.is_object()) {
      Fail(ptr, "must be an object");
      return false;
    }
    for (const auto& kv : v.get_object()) {
      bool known = false;
      for (auto a : allowed) known |= kv.key() == a;
      if (!known) Fail(ptr + "/" + PointerToken(kv.key()), "unknown field");
    }
    return true;
  }

  // A string of min..max code points, or nullopt (with an error recorded).
  std::optional<std::string> Text(const json::value& v, const std::string& ptr, std::size_t min, std::size_t max) {
    if (!v.is_string()) {
      Fail(ptr, "must be a string");
      return std::nullopt;
    }
    std::string s(v.get_string());
    std::size_t n = CodePointCount(s);
    if (n < min || n > max) {
      Fail(ptr, "must be " + std::to_string(min) + " to " + std::to_string(max) + " characters long");
      return std::nullopt;
    }
    return s;
  }

  std::optional<std::string> Identifier(const json::value& v, const std::string& ptr) {
    if (!v.is_string()) {
      Fail(ptr, "must be a string");
      return std::nullopt;
    }
    std::string s(v.get_string());
    if (!IsValidIdentifier(s)) {
      Fail(ptr, "must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}");
      return std::nullopt;
    }
    return s;
  }

  // An integer in [min, max]. A number with a fraction or exponent is not an integer.
  std::optional<std::int64_t> Integer(const json::value& v, const std::string& ptr, std::int64_t min,
                                      std::int64_t max) {
    std::int64_t n;
    if (v.is_int64())
      n = v.get_int64();
    else if (v.is_uint64()) {
      Fail(ptr, "must be at most " + std::to_string(max));
      return std::nullopt;
    } else {
      Fail(ptr, "must be an integer");
      return std::nullopt;
    }
    if (n < min || n > max) {
      Fail(ptr, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return std::nullopt;
    }
    return n;
  }

  // An array of 1..max items; nullptr (with an error recorded) otherwise. `noun` names one item.
  const json::array* Array(const json::value& v, const std::string& ptr, std::size_t max, std::string_view noun) {
    if (!v.is_array()) {
      Fail(ptr, "must be an array");
      return nullptr;
    }
    const auto& a = v.get_array();
    if (a.empty() || a.size() > max) {
      Fail(ptr, "must have 1 to " + std::to_string(max) + " " + std::string(noun) + "s");
      return nullptr;
    }
    return &a;
  }

  std::optional<Money> Price(const json::value& v, const std::string& ptr) {
    if (!Object(v, ptr, {"amount", "currency"})) return std::nullopt;
    const auto& o = v.get_object();
    Money m;
    bool good = true;
    if (auto* a = o.if_contains("amount")) {
      if (auto n = Integer(*a, ptr + "/amount", 0, kMaxAmount))
        m.amount = *n;
      else
        good = false;
    } else {
      Fail(ptr + "/amount", "is required");
      good = false;
    }
    if (auto* c = o.if_contains("currency")) {
      bool valid = c->is_string() && c->get_string().size() == 3;
      if (valid)
        for (char ch : c->get_string()) valid &= ch >= 'A' && ch <= 'Z';
      if (valid)
        m.currency = std::string(c->get_string());
      else {
        Fail(ptr + "/currency", "must be an ISO 4217 code: three capital letters");
        good = false;
      }
    } else {
      Fail(ptr + "/currency", "is required");
      good = false;
    }
    return good ? std::optional<Money>(m) : std::nullopt;
  }

 private:
  std::vector<FieldError> errors_;
};

bool HasNul(const json::value& v, int depth = 0) {
  if (depth > kMaxJsonDepth + 1) return false;
  switch (v.kind()) {
    case json::kind::string:
      return v.get_string().find('\0') != json::string::npos;
    case json::kind::array:
      for (const auto& e : v.get_array())
        if (HasNul(e, depth + 1)) return true;
      return false;
    case json::kind::object:
      for (const auto& kv : v.get_object())
        if (kv.key().find('\0') != std::string_view::npos || HasNul(kv.value(), depth + 1)) return true;
      return false;
    default:
      return false;
  }
}

// A SAX handler for boost::json::basic_parser that only checks one thing: no object repeats a member
// name (Boost.JSON would keep the last silently). Everything else is left to the real parse.
struct DuplicateKeyHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  std::vector<std::set<std::string>> objects;
  std::string key;
  std::string duplicate;  // the repeated name, once found

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) {
    objects.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    objects.pop_back();
    return true;
  }
  bool on_string_part(std::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_string(std::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_key_part(std::string_view s, std::size_t, boost::system::error_code&) {
    key.append(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, boost::system::error_code& ec) {
    key.append(s);
    bool fresh = objects.back().insert(key).second;
    if (!fresh) {
      duplicate = key;
      ec = json::error::syntax;
    }
    key.clear();
    return fresh;
  }
  bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, std::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, std::string_view, boost::system::error_code&) { return true; }
  bool on_double(double, std::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_comment(std::string_view, boost::system::error_code&) { return true; }
};

bool IsValidCategory(std::string_view c) {
  if (c.empty() || c.front() == '/' || c.back() == '/') return false;
  return c.find("//") == std::string_view::npos;
}

std::optional<std::int64_t> ParseQueryInteger(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

Result<json::value> ParseJsonBody(std::string_view body) {
  if (body.empty()) return Status::Invalid("the request body is empty; a JSON object is required");
  json::parse_options opt;
  opt.max_depth = kMaxJsonDepth;
  opt.allow_invalid_utf8 = false;
  json::parser p(json::storage_ptr(), opt);
  boost::system::error_code ec;
  p.write(body.data(), body.size(), ec);
  if (ec) {
    std::string why =
        ec == json::error::too_deep ? "the JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels"
        : ec == json::error::syntax && !IsValidUtf8(body) ? "the body is not valid UTF-8"
                                                          : "the body is not valid JSON (" + ec.message() + ")";
    return Status::Invalid(why);
  }
  json::value v = p.release();
  if (HasNul(v)) return Status::Invalid("strings must not contain U+0000");
  // The body is valid JSON by now; a second, allocation-light pass looks for repeated member names.
  json::basic_parser<DuplicateKeyHandler> dup(opt);
  boost::system::error_code dup_ec;
  dup.write_some(false, body.data(), body.size(), dup_ec);
  if (!dup.handler().duplicate.empty())
    return Status::Invalid("the JSON repeats the member name \"" + dup.handler().duplicate + "\" in one object");
  return v;
}

Result<ProductInput> ParseProduct(const json::value& body, std::optional<std::string_view> path_id,
                                  const std::string& generated_id) {
  Checker c;
  if (!c.Object(body, "",
                {"id", "name", "description", "brand", "category", "price", "attributes", "variants", "status",
                 "version", "created_at", "updated_at"}))
    return c.ToStatus("the product must be a JSON object");
  const auto& o = body.get_object();
  ProductInput p;
  if (path_id) p.id = std::string(*path_id);
  if (auto* id = o.if_contains("id")) {
    if (auto s = c.Identifier(*id, "/id")) {
      if (path_id && *s != *path_id) c.Fail("/id", "must equal the id in the URL");
      p.id = *s;
    }
  } else if (!path_id) {
    p.id = generated_id;
  }
  if (auto* v = o.if_contains("name")) {
    if (auto s = c.Text(*v, "/name", 1, kMaxNameLength)) p.name = *s;
  } else
    c.Fail("/name", "is required");
  if (auto* v = o.if_contains("description"); v && !v->is_null())
    p.description = c.Text(*v, "/description", 0, kMaxDescriptionLength);
  if (auto* v = o.if_contains("brand"); v && !v->is_null()) p.brand = c.Text(*v, "/brand", 1, kMaxShortTextLength);
  if (auto* v = o.if_contains("category")) {
    if (auto s = c.Text(*v, "/category", 1, kMaxShortTextLength)) {
      if (IsValidCategory(*s))
        p.category = *s;
      else
        c.Fail("/category", "must be segments separated by single '/', e.g. \"men/shirts\"");
    }
  } else
    c.Fail("/category", "is required");
  if (auto* v = o.if_contains("price")) {
    if (auto m = c.Price(*v, "/price")) p.price = *m;
  } else
    c.Fail("/price", "is required");
  if (auto* v = o.if_contains("attributes"); v && !v->is_null()) {
    if (!v->is_object())
      c.Fail("/attributes", "must be an object of strings");
    else if (v->get_object().size() > kMaxAttributes)
      c.Fail("/attributes", "must have at most 50 entries");
    else
      for (const auto& kv : v->get_object()) {
        std::string ptr = "/attributes/" + PointerToken(kv.key());
        std::size_t klen = CodePointCount(kv.key());
        if (klen < 1 || klen > kMaxAttributeKeyLength) c.Fail(ptr, "attribute names must be 1 to 64 characters long");
        if (auto s = c.Text(kv.value(), ptr, 0, kMaxShortTextLength))
          p.attributes.emplace_back(std::string(kv.key()), *s);
      }
  }
  if (auto* v = o.if_contains("variants")) {
    if (const json::array* variants = c.Array(*v, "/variants", kMaxVariants, "variant")) {
      std::set<std::string> seen;
      std::size_t i = 0;
      for (const auto& e : *variants) {
        std::string ptr = "/variants/" + std::to_string(i++);
        if (!c.Object(e, ptr, {"sku", "size", "color"})) continue;
        const auto& vo = e.get_object();
        Variant var;
        if (auto* s = vo.if_contains("sku")) {
          if (auto sku = c.Identifier(*s, ptr + "/sku")) {
            if (!seen.insert(*sku).second) c.Fail(ptr + "/sku", "repeats a sku of this product");
            var.sku = *sku;
          }
        } else
          c.Fail(ptr + "/sku", "is required");
        if (auto* s = vo.if_contains("size"); s && !s->is_null())
          var.size = c.Text(*s, ptr + "/size", 1, kMaxVariantTextLength);
        if (auto* s = vo.if_contains("color"); s && !s->is_null())
          var.color = c.Text(*s, ptr + "/color", 1, kMaxVariantTextLength);
        p.variants.push_back(std::move(var));
      }
    }
  } else
    c.Fail("/variants", "is required");
  if (auto* v = o.if_contains("status")) {
    if (v->is_string() && (v->get_string() == "draft" || v->get_string() == "active" || v->get_string() == "archived"))
      p.status = std::string(v->get_string());
    else
      c.Fail("/status", "must be one of draft, active, archived");
  }
  // version, created_at and updated_at are owned by the server and ignored (use If-Match).
  if (!c.ok()) return c.ToStatus("the product is not valid");
  return p;
}

Result<OrderInput> ParseOrder(const json::value& body, bool may_mark_synthetic) {
  Checker c;
  bool shaped = may_mark_synthetic ? c.Object(body, "", {"customer_id", "lines", "synthetic"})
                                   : c.Object(body, "", {"customer_id", "lines"});
  if (!shaped) return c.ToStatus("the order must be a JSON object");
  const auto& o = body.get_object();
  OrderInput in;
  if (auto* v = may_mark_synthetic ? o.if_contains("synthetic") : nullptr) {
    if (v->is_bool())
      in.synthetic = v->get_bool();
    else
      c.Fail("/synthetic", "must be true or false");
  }
  if (auto* v = o.if_contains("customer_id")) {
    if (auto s = c.Identifier(*v, "/customer_id")) in.customer_id = *s;
  } else
    c.Fail("/customer_id", "is required");
  if (auto* v = o.if_contains("lines")) {
    if (const json::array* lines = c.Array(*v, "/lines", kMaxOrderLines, "line")) {
      std::set<std::string> seen;
      std::size_t i = 0;
      for (const auto& e : *lines) {
        std::string ptr = "/lines/" + std::to_string(i++);
        if (!c.Object(e, ptr, {"sku", "quantity"})) continue;
        const auto& lo = e.get_object();
        OrderLineInput line;
        if (auto* s = lo.if_contains("sku")) {
          if (auto sku = c.Identifier(*s, ptr + "/sku")) {
            if (!seen.insert(*sku).second) c.Fail(ptr + "/sku", "repeats a sku of another line");
            line.sku = *sku;
          }
        } else
          c.Fail(ptr + "/sku", "is required");
        if (auto* q = lo.if_contains("quantity")) {
          if (auto n = c.Integer(*q, ptr + "/quantity", kMinQuantity, kMaxQuantity)) line.quantity = *n;
        } else
          c.Fail(ptr + "/quantity", "is required");
        in.lines.push_back(std::move(line));
      }
    }
  } else
    c.Fail("/lines", "is required");
  if (!c.ok()) return c.ToStatus("the order is not valid");
  return in;
}

namespace {
Result<std::int64_t> ParseSingleInteger(const json::value& body, std::string_view field, std::int64_t min,
                                        std::int64_t max) {
  Checker c;
  if (!c.Object(body, "", {field})) return c.ToStatus("the body must be a JSON object");
  std::optional<std::int64_t> n;
  if (auto* v = body.get_object().if_contains(field))
    n = c.Integer(*v, "/" + std::string(field), min, max);
  else
    c.Fail("/" + std::string(field), "is required");
  if (!c.ok()) return c.ToStatus("the body is not valid");
  return *n;
}
}  // namespace

Result<std::int64_t> ParseOnHand(const json::value& body) { return ParseSingleInteger(body, "on_hand", 0, kMaxStock); }
Result<std::int64_t> ParseDelta(const json::value& body) {
  return ParseSingleInteger(body, "delta", -kMaxStock, kMaxStock);
}

Result<ProductQuery> ParseProductQuery(const std::multimap<std::string, std::string>& params) {
  Checker c;
  ProductQuery q;
  std::set<std::string> seen;
  for (const auto& [name, value] : params) {
    std::string ptr = "/query/" + PointerToken(name);
    if (!seen.insert(name).second) {
      c.Fail(ptr, "is given more than once");
      continue;
    }
    if (name == "category") {
      if (IsValidCategory(value) && IsValidUtf8(value) && CodePointCount(value) <= kMaxShortTextLength)
        q.category = value;
      else
        c.Fail(ptr, "must be a category path such as \"men/shirts\"");
    } else if (name == "q") {
      if (IsValidUtf8(value) && CodePointCount(value) <= kMaxShortTextLength && value.find('\0') == std::string::npos) {
        if (!value.empty()) q.text = value;
      } else
        c.Fail(ptr, "must be text of at most 200 characters");
    } else if (name == "min_price" || name == "max_price") {
      auto n = ParseQueryInteger(value);
      if (!n || *n > kMaxAmount)
        c.Fail(ptr, "must be a whole number of minor units, 0 to " + std::to_string(kMaxAmount));
      else
        (name == "min_price" ? q.min_price : q.max_price) = *n;
    } else if (name == "status") {
      if (value == "draft" || value == "active" || value == "archived")
        q.status = value;
      else
        c.Fail(ptr, "must be one of draft, active, archived");
    } else if (name == "limit") {
      auto n = ParseQueryInteger(value);
      if (!n || *n < 1 || *n > kMaxLimit)
        c.Fail(ptr, "must be a whole number from 1 to 200");
      else
        q.limit = static_cast<int>(*n);
    } else if (name == "cursor") {
      auto after = DecodeCursor(value);
      if (!after)
        c.Fail(ptr, "is not a cursor this server issued");
      else
        q.after_id = *after;
    } else {
      c.Fail(ptr, "unknown query parameter");
    }
  }
  if (!c.ok()) return c.ToStatus("the query is not valid");
  return q;
}

bool IsValidIdempotencyKey(std::string_view key) {
  if (key.empty() || key.size() > 200) return false;
  for (char ch : key)
    if (ch < 0x20 || ch > 0x7E) return false;
  return true;
}

}  // namespace techmoda::model
