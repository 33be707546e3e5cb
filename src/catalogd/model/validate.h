// Turning untrusted request input into validated model values. Every failure is a 400 Status
// carrying one FieldError per problem, located by JSON pointer; nothing here touches storage.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "techmoda/status.h"
#include "techmoda/store.h"

namespace techmoda::model {

// Contract limits (shared/api.md).
inline constexpr std::size_t kMaxNameLength = 200;
inline constexpr std::size_t kMaxDescriptionLength = 5000;
inline constexpr std::size_t kMaxShortTextLength = 200;  // brand, category, attribute values
inline constexpr std::size_t kMaxAttributeKeyLength = 64;
inline constexpr std::size_t kMaxVariantTextLength = 50;  // size, colour
inline constexpr std::size_t kMaxAttributes = 50;
inline constexpr std::size_t kMaxVariants = 100;
inline constexpr std::size_t kMaxOrderLines = 100;
inline constexpr std::int64_t kMinQuantity = 1;
inline constexpr std::int64_t kMaxQuantity = 1000;
inline constexpr std::int64_t kMaxAmount = 1'000'000'000'000;  // minor units
inline constexpr std::int64_t kMaxStock = 1'000'000'000;
inline constexpr int kMaxJsonDepth = 16;
inline constexpr int kDefaultLimit = 50;
inline constexpr int kMaxLimit = 200;

// Parses a request body as JSON: syntax, UTF-8, nesting depth, no U+0000 in any string.
Result<boost::json::value> ParseJsonBody(std::string_view body);

// A product body (POST or PUT). `path_id` is the id in the URL for PUT; for POST it is empty and
// the body's id, when present, is used (else `generated_id`).
Result<ProductInput> ParseProduct(const boost::json::value& body, std::optional<std::string_view> path_id,
                                  const std::string& generated_id);

// {"customer_id", "lines": [{"sku", "quantity"}], "synthetic"?: bool}. `synthetic` is a field only
// for a token that may mark orders synthetic (the canary's); for any other it is an unknown field.
Result<OrderInput> ParseOrder(const boost::json::value& body, bool may_mark_synthetic = false);

// {"on_hand": n} and {"delta": n}.
Result<std::int64_t> ParseOnHand(const boost::json::value& body);
Result<std::int64_t> ParseDelta(const boost::json::value& body);

// The query of GET /v1/products (already percent-decoded). Unknown parameters are refused.
Result<ProductQuery> ParseProductQuery(const std::multimap<std::string, std::string>& params);

// 1..200 printable ASCII characters.
bool IsValidIdempotencyKey(std::string_view key);

}  // namespace techmoda::model
