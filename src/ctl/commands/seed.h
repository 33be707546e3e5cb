// catalogctl seed: a deterministic, seeded fashion catalog loaded with COPY.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "techmoda/store.h"

namespace techmoda::ctl {

struct SeedOptions {
  std::int64_t products = 1000;
  std::uint64_t seed = 42;
  bool replace = false;  // empty the catalog (products and stock only) first
};

// One generated product and the stock of each of its skus, the same for the same (index, seed).
struct SeedProduct {
  ProductInput product;
  std::vector<std::pair<std::string, std::int64_t>> stock;  // sku, on_hand
};

// Pure and thread-safe: product number `index` (0-based) of the catalog made with `seed`.
SeedProduct GenerateProduct(std::int64_t index, std::uint64_t seed);

// Loads the catalog into the database at `conninfo` in one transaction, applying migrations
// first. Refuses a non-empty catalog unless options.replace. Calls `progress(done, total)` now and then.
Status RunSeed(const std::string& conninfo, const SeedOptions& options,
               const std::function<void(std::int64_t, std::int64_t)>& progress);

}  // namespace techmoda::ctl
