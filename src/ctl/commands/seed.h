// catalogctl seed: a deterministic, seeded fashion catalog loaded with COPY.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/pg.h"
#include "techmoda/status.h"
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
// first. Refuses a non-empty catalog unless options.replace. Calls `progress(phase, done, total)` now
// and then; phases are "products", "stock" and "indexes" (done = total = 0).
using SeedProgress = std::function<void(std::string_view phase, std::int64_t done, std::int64_t total)>;
Status RunSeed(const std::string& conninfo, const SeedOptions& options, const SeedProgress& progress);

// Waits (up to `timeout`) until every running catalogd's in-memory copy has applied what this
// connection committed, so that reads right after a load see it. Progress phase "copies".
Status WaitForCopies(pg::Connection& c, const SeedProgress& progress,
                     std::chrono::seconds timeout = std::chrono::seconds(30));

}  // namespace techmoda::ctl
