#include "ctl/commands/seed.h"

#include <thread>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>

#include "common/json_util.h"
#include "common/migrate.h"
#include "common/pg.h"
#include "techmoda/product_wire.h"

namespace json = boost::json;

namespace techmoda::ctl {
namespace {

// SplitMix64: tiny, fast, and the same on every platform (std distributions are not).
struct Rng {
  std::uint64_t s;
  std::uint64_t Next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::size_t Below(std::size_t n) { return static_cast<std::size_t>(Next() % n); }
  template <typename T, std::size_t N>
  const T& Pick(const T (&a)[N]) {
    return a[Below(N)];
  }
};

struct Category {
  const char* path;
  const char* noun;
  bool shoe_sizes;
  std::int64_t min_price;  // cents
  std::int64_t max_price;
};

constexpr Category kCategories[] = {
    {"women/dresses", "dress", false, 2990, 24990},
    {"women/tops", "top", false, 990, 7990},
    {"women/skirts", "skirt", false, 1990, 12990},
    {"women/jeans", "jeans", false, 2990, 14990},
    {"women/coats", "coat", false, 7990, 49990},
    {"women/shoes/sneakers", "sneaker", true, 3990, 19990},
    {"women/shoes/boots", "boot", true, 5990, 29990},
    {"men/shirts", "shirt", false, 1990, 12990},
    {"men/t-shirts", "t-shirt", false, 790, 4990},
    {"men/trousers", "trousers", false, 2990, 14990},
    {"men/jackets", "jacket", false, 5990, 39990},
    {"men/knitwear", "sweater", false, 2990, 17990},
    {"men/shoes/sneakers", "sneaker", true, 3990, 19990},
    {"men/shoes/loafers", "loafer", true, 4990, 24990},
    {"kids/tops", "top", false, 590, 3990},
    {"kids/outerwear", "parka", false, 2990, 12990},
    {"accessories/bags", "bag", false, 1990, 59990},
    {"accessories/scarves", "scarf", false, 990, 9990},
    {"accessories/belts", "belt", false, 990, 7990},
    {"accessories/hats", "hat", false, 790, 5990},
};
constexpr const char* kBrands[] = {"TechModa Atelier", "Nordlys",   "Casa Verde",  "Urban Thread", "Maison Lune",
                                   "Blue Harbor",      "Kiko & Co", "Alba Studio", "Fjell",        "Rosso Vivo",
                                   "Linea Pura",       "Oak & Ash"};
constexpr const char* kMaterials[] = {
    "linen",          "cotton", "wool",    "cashmere",           "silk",    "denim", "leather",
    "organic cotton", "merino", "viscose", "recycled polyester", "corduroy"};
constexpr const char* kAdjectives[] = {"Classic", "Relaxed",   "Slim",   "Oversized", "Cropped",  "Tailored",
                                       "Vintage", "Essential", "Summer", "Winter",    "Everyday", "Weekend"};
constexpr const char* kFits[] = {"regular", "slim", "relaxed", "oversized"};
constexpr const char* kSeasons[] = {"spring-summer", "autumn-winter", "all-season"};
constexpr const char* kColors[] = {"white", "black", "navy", "beige", "olive", "grey", "red", "sand", "sky", "brown"};
constexpr const char* kColorCodes[] = {"WHT", "BLK", "NVY", "BGE", "OLV", "GRY", "RED", "SND", "SKY", "BRN"};
constexpr const char* kDescriptions[] = {
    "Soft and breathable", "Made to last in",     "Easy care",    "Lightweight", "Cosy",  "Timeless cut in",
    "Crafted from",        "Responsibly sourced", "Garment-dyed", "Brushed",     "Crisp", "Relaxed feel in"};
constexpr const char* kSizes[] = {"XS", "S", "M", "L", "XL", "XXL"};
constexpr const char* kShoeSizes[] = {"36", "37", "38", "39", "40", "41", "42", "43", "44", "45"};

// Must mirror migrations/0001_init.sql.
constexpr const char* kDropForLoad =
    "ALTER TABLE inventory DROP CONSTRAINT inventory_product_id_fkey; "
    "ALTER TABLE inventory DROP CONSTRAINT inventory_pkey; "
    "ALTER TABLE products DROP CONSTRAINT products_pkey; "
    "DROP INDEX products_search; DROP INDEX products_status_id";
constexpr const char* kRebuildAfterLoad =
    "SET LOCAL maintenance_work_mem = '512MB'; "
    "ALTER TABLE products ADD CONSTRAINT products_pkey PRIMARY KEY (id); "
    "CREATE INDEX products_status_id ON products (status, id); "
    "CREATE INDEX products_search ON products USING gin (catalog_search_text(name, description, brand)); "
    "ALTER TABLE inventory ADD CONSTRAINT inventory_pkey PRIMARY KEY (sku); "
    "ALTER TABLE inventory ADD CONSTRAINT inventory_product_id_fkey FOREIGN KEY (product_id) REFERENCES products (id)";

}  // namespace

SeedProduct GenerateProduct(std::int64_t index, std::uint64_t seed) {
  Rng rng{seed * 0x100000001B3ull + static_cast<std::uint64_t>(index) * 0x9E3779B97F4A7C15ull};
  rng.Next();
  const Category& cat = rng.Pick(kCategories);
  std::string material = rng.Pick(kMaterials);
  std::string adjective = rng.Pick(kAdjectives);
  SeedProduct out;
  ProductInput& p = out.product;
  char id[32];
  std::snprintf(id, sizeof id, "tm-%07lld", static_cast<long long>(index + 1));
  p.id = id;
  p.name = adjective + " " + material + " " + cat.noun;
  p.brand = rng.Pick(kBrands);
  p.category = cat.path;
  p.description = std::string(rng.Pick(kDescriptions)) + " " + material + ".";
  std::int64_t span = (cat.max_price - cat.min_price) / 100;
  p.price = {cat.min_price + static_cast<std::int64_t>(rng.Below(static_cast<std::size_t>(span) + 1)) * 100, "EUR"};
  p.attributes = {{"material", material}, {"fit", rng.Pick(kFits)}, {"season", rng.Pick(kSeasons)}};
  std::size_t ncolors = 1 + rng.Below(2);
  std::size_t first_color = rng.Below(std::size(kColors));
  std::size_t nsizes = cat.shoe_sizes ? 3 + rng.Below(4) : 2 + rng.Below(3);
  std::size_t first_size =
      rng.Below(cat.shoe_sizes ? std::size(kShoeSizes) - nsizes + 1 : std::size(kSizes) - nsizes + 1);
  for (std::size_t c = 0; c < ncolors; ++c) {
    std::size_t ci = (first_color + c) % std::size(kColors);
    for (std::size_t s = 0; s < nsizes; ++s) {
      std::string size = cat.shoe_sizes ? kShoeSizes[first_size + s] : kSizes[first_size + s];
      Variant v{p.id + "-" + size + "-" + kColorCodes[ci], size, std::string(kColors[ci])};
      out.stock.emplace_back(v.sku, static_cast<std::int64_t>(rng.Below(10) < 1 ? 0 : rng.Below(60)));
      p.variants.push_back(std::move(v));
    }
  }
  std::size_t roll = rng.Below(100);
  p.status = roll < 3 ? "draft" : roll < 5 ? "archived" : "active";
  return out;
}

namespace {

Status Check(const std::variant<pg::Rows, pg::Error>& r, const std::string& what) {
  if (auto* e = std::get_if<pg::Error>(&r)) return pg::ToStatus(*e, what);
  return Status::Ok();
}

Status CopyRows(pg::Connection& c, const std::string& copy_sql, const std::function<bool(std::string&)>& fill) {
  auto start = c.Exec(copy_sql);
  if (auto* e = std::get_if<pg::Error>(&start)) return pg::ToStatus(*e, "COPY");
  std::string buf;
  bool more = true;
  while (more) {
    buf.clear();
    more = fill(buf);
    if (!buf.empty() && PQputCopyData(c.raw(), buf.data(), static_cast<int>(buf.size())) != 1)
      return Status::Internal(std::string("COPY: ") + PQerrorMessage(c.raw()));
  }
  if (PQputCopyEnd(c.raw(), nullptr) != 1) return Status::Internal(std::string("COPY: ") + PQerrorMessage(c.raw()));
  pg::ResultPtr r(PQgetResult(c.raw()));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
    return Status::Internal(std::string("COPY: ") + PQresultErrorMessage(r.get()));
  while (pg::ResultPtr more_r{PQgetResult(c.raw())}) {
  }
  return Status::Ok();
}

}  // namespace

Status RunSeed(const std::string& conninfo, const SeedOptions& o, const SeedProgress& progress) {
  if (o.products < 1 || o.products > 9'999'999) return Status::Invalid("--products must be 1 to 9999999");
  auto conn = pg::Connect(conninfo, std::chrono::seconds(10));
  if (!conn.ok()) return conn.status();
  pg::Connection& c = **conn;
  if (auto v = ApplyMigrations(c); !v.ok()) return v.status();
  if (auto s = Check(c.ExecScript("BEGIN; SET LOCAL synchronous_commit = off"), "BEGIN"); !s.ok()) return s;
  // Take the tables for ourselves so a concurrent writer cannot interleave with the load.
  if (auto s = Check(c.ExecScript("LOCK TABLE products, inventory IN EXCLUSIVE MODE"), "LOCK"); !s.ok()) return s;
  // The canary's own product (category synthetic/...) is not part of the catalog: it stays.
  auto count = c.Exec("SELECT count(*) FROM (SELECT 1 FROM products WHERE category NOT LIKE 'synthetic/%' LIMIT 1) t");
  if (auto s = Check(count, "counting products"); !s.ok()) return s;
  bool empty = std::get<pg::Rows>(count).GetInt(0, 0) == 0;
  if (!empty && !o.replace) {
    c.ExecScript("ROLLBACK");
    return Status::Conflict("catalog-not-empty", "the catalog already has products; pass --replace to replace it");
  }
  if (!empty) {
    auto reserved = c.Exec(
        "SELECT count(*) FROM inventory i JOIN products p ON p.id = i.product_id "
        "WHERE i.reserved > 0 AND p.category NOT LIKE 'synthetic/%'");
    if (auto s = Check(reserved, "checking reservations"); !s.ok()) return s;
    if (std::get<pg::Rows>(reserved).GetInt(0, 0) > 0) {
      c.ExecScript("ROLLBACK");
      return Status::Conflict("catalog-has-orders", "stock is reserved by orders; --replace would orphan them");
    }
    if (auto s = Check(c.ExecScript("DELETE FROM inventory i USING products p WHERE p.id = i.product_id AND "
                                    "p.category NOT LIKE 'synthetic/%'; "
                                    "DELETE FROM products WHERE category NOT LIKE 'synthetic/%'"),
                       "emptying the catalog");
        !s.ok())
      return s;
  }
  // The PostgreSQL manual's bulk-load recipe: drop indexes and foreign keys, load, rebuild. Index
  // builds sort once instead of inserting row by row; all of it is inside the one transaction.
  if (auto s = Check(c.ExecScript(kDropForLoad), "dropping indexes"); !s.ok()) return s;

  std::int64_t next = 0;
  std::vector<SeedProduct> batch;
  auto products = CopyRows(
      c,
      "COPY products (id, name, description, brand, category, price_amount, currency, attributes, variants, status) "
      "FROM STDIN",
      [&](std::string& buf) {
        for (int k = 0; k < 5000 && next < o.products; ++k, ++next) {
          SeedProduct sp = GenerateProduct(next, o.seed);
          const ProductInput& p = sp.product;
          pg::AppendCopyField(buf, p.id);
          buf += '\t';
          pg::AppendCopyField(buf, p.name);
          buf += '\t';
          pg::AppendCopyField(buf, *p.description);
          buf += '\t';
          pg::AppendCopyField(buf, *p.brand);
          buf += '\t';
          pg::AppendCopyField(buf, p.category);
          buf += '\t';
          buf += std::to_string(p.price.amount);
          buf += '\t';
          buf += p.price.currency;
          buf += '\t';
          pg::AppendCopyField(buf, json::serialize(AttributesToJson(p.attributes)));
          buf += '\t';
          pg::AppendCopyField(buf, json::serialize(VariantsToJson(p.variants)));
          buf += '\t';
          buf += p.status;
          buf += '\n';
        }
        if (progress && next % 100000 < 5000) progress("products", next, o.products);
        return next < o.products;
      });
  if (!products.ok()) return products;
  next = 0;
  auto stock = CopyRows(c, "COPY inventory (sku, product_id, on_hand) FROM STDIN", [&](std::string& buf) {
    for (int k = 0; k < 5000 && next < o.products; ++k, ++next) {
      SeedProduct sp = GenerateProduct(next, o.seed);
      for (const auto& [sku, on_hand] : sp.stock) {
        buf += sku;
        buf += '\t';
        buf += sp.product.id;
        buf += '\t';
        buf += std::to_string(on_hand);
        buf += '\n';
      }
    }
    if (progress && next % 100000 < 5000) progress("stock", next, o.products);
    return next < o.products;
  });
  if (!stock.ok()) return stock;
  if (progress) progress("indexes", 0, 0);
  if (auto s = Check(c.ExecScript(kRebuildAfterLoad), "building indexes"); !s.ok()) return s;
  json::object summary{{"products", o.products}, {"seed", o.seed}, {"replaced", !empty}};
  auto logged = c.Exec(
      "INSERT INTO change_log (entity, entity_id, action, new_value, request_id, write_id, deploy_id) "
      "VALUES ('catalog', '*', 'seed', $1::jsonb, 'catalogctl-seed', $2, 'catalogctl')",
      {json::serialize(summary), RandomHex(16)});
  if (auto s = Check(logged, "the change log"); !s.ok()) return s;
  if (auto s = Check(c.ExecScript("COMMIT; ANALYZE products; ANALYZE inventory"), "COMMIT"); !s.ok()) return s;
  return WaitForCopies(c, progress);
}

Status WaitForCopies(pg::Connection& c, const SeedProgress& progress, std::chrono::seconds timeout) {
  // Every running catalogd follows the tables through a temporary logical slot named
  // catalogd_copy_*, whose confirmed position it advances as it applies. Wait until each has
  // applied this commit, so that reads right after the seed see it (bounded: a stuck copy is
  // catalogd's to report, not a reason for the seed to fail).
  auto lsn = c.Exec("SELECT pg_current_wal_flush_lsn()::text");
  if (auto s = Check(lsn, "reading the commit position"); !s.ok()) return s;
  std::string at(std::get<pg::Rows>(lsn).Get(0, 0));
  if (progress) progress("copies", 0, 0);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto behind = c.Exec(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical' AND active AND slot_name LIKE "
        "'catalogd\\_copy\\_%' AND coalesce(confirmed_flush_lsn, '0/0') < $1::pg_lsn",
        {at});
    if (auto s = Check(behind, "checking the copies"); !s.ok()) return s;
    if (std::get<pg::Rows>(behind).GetInt(0, 0) == 0) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Ok();
}

}  // namespace techmoda::ctl
