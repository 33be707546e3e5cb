// The wire form of a product's variants and attributes: what the API answers, what the `products`
// table's jsonb columns hold, and what `catalogctl seed` writes with COPY. One writer for all three.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <utility>
#include <vector>

#include "techmoda/store.h"

namespace techmoda {

// [{"sku", "size"?, "color"?}, ...] in the given order.
boost::json::value VariantsToJson(const std::vector<Variant>& variants);
// {"name": "value", ...} in the given order.
boost::json::value AttributesToJson(const std::vector<std::pair<std::string, std::string>>& attributes);

}  // namespace techmoda
