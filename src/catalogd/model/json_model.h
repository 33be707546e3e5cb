// The JSON representation of the model: one place, used for answers, stored answers and the change log.
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "techmoda/product_wire.h"
#include "techmoda/status.h"
#include "techmoda/store.h"

namespace techmoda::model {

boost::json::value ToJson(const Money& m);
boost::json::value ToJson(const Product& p);
// The same document as serialize(ToJson(p)), byte for byte, written straight into a string: the
// copy serialises every product once when it loads, a million of them at a cold start.
std::string ProductJson(const Product& p);
// Appends `s` as a JSON string literal, escaped as Boost.JSON's serializer escapes it.
void AppendJsonString(std::string& out, std::string_view s);
boost::json::value ToJson(const Stock& s);
boost::json::value ToJson(const Order& o);
using techmoda::AttributesToJson;  // the product wire form, shared with catalogctl seed
using techmoda::VariantsToJson;
boost::json::value OrderLinesToJson(const std::vector<OrderLine>& lines);

// Inverses for the JSON the store itself wrote (jsonb columns). Malformed input is kInternal:
// it means the database holds something this code did not write.
Result<std::vector<Variant>> VariantsFromJson(std::string_view text);
Result<std::vector<std::pair<std::string, std::string>>> AttributesFromJson(std::string_view text);
Result<std::vector<OrderLine>> OrderLinesFromJson(std::string_view text);

}  // namespace techmoda::model
