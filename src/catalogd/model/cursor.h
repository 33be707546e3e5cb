// Listing cursors: opaque to clients, stable, and refused when tampered with.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace techmoda::model {

// The cursor that continues a listing after the product `last_id`.
std::string EncodeCursor(std::string_view last_id);

// The id a cursor continues after; nullopt for anything EncodeCursor did not produce.
std::optional<std::string> DecodeCursor(std::string_view cursor);

}  // namespace techmoda::model
