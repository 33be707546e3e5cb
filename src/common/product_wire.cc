#include "techmoda/product_wire.h"

#include <boost/json.hpp>

namespace json = boost::json;

namespace techmoda {

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

}  // namespace techmoda
