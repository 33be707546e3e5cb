#include "catalogd/copy/catalog_copy.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstring>

#include "catalogd/model/json_model.h"

namespace json = boost::json;

namespace techmoda::copy {

namespace {
bool IsWordByte(unsigned char c) { return c >= 0x80 || std::isalnum(c); }
}  // namespace

std::vector<std::string> SearchWords(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t start = i;
    while (i < text.size() && IsWordByte(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start) break;
    std::string& w = words.emplace_back(text.substr(start, i - start));
    for (auto& ch : w)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  return words;
}

std::string PgTimestampToRfc3339(std::string_view pg) {
  // YYYY-MM-DD HH:MM:SS[.ffffff]+00
  if (pg.size() < 22 || pg[10] != ' ' || pg.substr(pg.size() - 3) != "+00") return std::string(pg);
  std::string out(pg.substr(0, 19));
  out[10] = 'T';
  std::string frac = "000";
  if (pg[19] == '.') {
    auto digits = pg.substr(20, pg.size() - 3 - 20);
    for (std::size_t i = 0; i < 3 && i < digits.size(); ++i) frac[i] = digits[i];
  }
  return out + "." + frac + "Z";
}

namespace {

std::optional<std::int64_t> ToInt(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
  return n;
}

Status Malformed(std::string_view table, std::string_view column) {
  return Status::Internal("a " + std::string(table) + " row from the database lacks a valid " + std::string(column));
}

}  // namespace

Result<Product> ProductFromRow(const ProductRow& row) {
  using namespace product_column;
  for (int required : {kId, kName, kCategory, kCurrency, kStatus, kCreated, kUpdated})
    if (!row[required]) return Malformed("products", kProductColumns[required]);
  Product p;
  p.id = std::string(*row[kId]);
  p.name = std::string(*row[kName]);
  if (row[kDescription]) p.description = std::string(*row[kDescription]);
  if (row[kBrand]) p.brand = std::string(*row[kBrand]);
  p.category = std::string(*row[kCategory]);
  auto price = ToInt(row[kPrice]);
  auto version = ToInt(row[kVersion]);
  if (!price) return Malformed("products", "price_amount");
  if (!version) return Malformed("products", "version");
  p.price = {*price, std::string(*row[kCurrency])};
  p.version = *version;
  auto attrs = model::AttributesFromJson(row[kAttributes].value_or("{}"));
  if (!attrs.ok()) return attrs.status();
  p.attributes = std::move(attrs).value();
  auto vars = model::VariantsFromJson(row[kVariants].value_or("[]"));
  if (!vars.ok()) return vars.status();
  p.variants = std::move(vars).value();
  p.status = std::string(*row[kStatus]);
  p.created_at = PgTimestampToRfc3339(*row[kCreated]);
  p.updated_at = PgTimestampToRfc3339(*row[kUpdated]);
  return p;
}

Result<std::pair<std::string_view, StockRecord>> StockFromRow(const StockRow& row) {
  auto on_hand = ToInt(row[1]), reserved = ToInt(row[2]), version = ToInt(row[3]);
  if (!row[0] || !on_hand || !reserved || !version) return Malformed("inventory", "sku, on_hand, reserved or version");
  return std::make_pair(*row[0], StockRecord{*on_hand, *reserved, *version});
}

namespace {

enum class Status8 : std::uint8_t { kDraft, kActive, kArchived, kOther };
Status8 StatusOf(std::string_view s) {
  return s == "active"     ? Status8::kActive
         : s == "draft"    ? Status8::kDraft
         : s == "archived" ? Status8::kArchived
                           : Status8::kOther;
}

// 48 bytes beside the answer itself: a million products must fit in well under 1.5 GB.
struct ProductRecord {
  std::int64_t version = 0;
  std::int64_t price = 0;
  const std::string* category = nullptr;  // the key of Index::categories (interned)
  Status8 status = Status8::kOther;
  std::shared_ptr<const std::string> json;
};

// Stock keyed by sku; the sku bytes live in an arena (a std::string key would cost a heap
// allocation per row: five million rows for a million products).
class StockTable {
 public:
  StockRecord* Find(std::string_view sku) {
    auto it = map_.find(sku);
    return it == map_.end() ? nullptr : &it->second;
  }
  // Inserts or replaces; false (no change) when the held version is newer.
  bool Put(std::string_view sku, const StockRecord& s) {
    if (StockRecord* held = Find(sku)) {
      if (held->version > s.version) return false;
      *held = s;
      return true;
    }
    map_.emplace(Intern(sku), s);
    return true;
  }
  // Adds a sku known to be absent (a snapshot's rows are unique): one hash lookup, not two.
  void PutNew(std::string_view sku, const StockRecord& s) {
    if (!map_.emplace(Intern(sku), s).second) Put(sku, s);
  }
  void Erase(std::string_view sku) { map_.erase(sku); }
  void Reserve(std::size_t n) { map_.reserve(n); }  // the arena keeps the bytes until the next snapshot
  void Clear() {
    map_.clear();
    chunks_.clear();
    used_ = kChunk;
  }
  std::size_t size() const { return map_.size(); }
  template <typename F>
  void ForEach(F f) const {
    for (const auto& [k, v] : map_) f(k, v);
  }

 private:
  static constexpr std::size_t kChunk = 1 << 20;
  std::string_view Intern(std::string_view s) {
    if (s.size() > kChunk)
      return chunks_.emplace_back(std::make_unique<char[]>(s.size())), Copy(s, chunks_.back().get());
    if (used_ + s.size() > kChunk) {
      chunks_.push_back(std::make_unique<char[]>(kChunk));
      used_ = 0;
    }
    char* at = chunks_.back().get() + used_;
    used_ += s.size();
    return Copy(s, at);
  }
  static std::string_view Copy(std::string_view s, char* at) {
    std::memcpy(at, s.data(), s.size());
    return {at, s.size()};
  }
  std::unordered_map<std::string_view, StockRecord> map_;
  std::vector<std::unique_ptr<char[]>> chunks_;
  std::size_t used_ = kChunk;
};
using ProductMap = std::map<std::string, ProductRecord, std::less<>>;
using Entry = const ProductMap::value_type*;
// Entries in id (byte) order: the order listings page through.
using Postings = std::vector<Entry>;

bool IdLess(Entry e, std::string_view id) { return e->first < id; }

void AddPosting(Postings& p, Entry e) {
  if (p.empty() || p.back()->first < e->first) return p.push_back(e);  // the snapshot's order: append
  auto at = std::lower_bound(p.begin(), p.end(), std::string_view(e->first), IdLess);
  if (at == p.end() || *at != e) p.insert(at, e);
}

void RemovePosting(Postings& p, Entry e) {
  auto at = std::lower_bound(p.begin(), p.end(), std::string_view(e->first), IdLess);
  if (at != p.end() && *at == e) p.erase(at);
}

std::string SearchTextOf(const std::string& name, const std::optional<std::string>& description,
                         const std::optional<std::string>& brand) {
  return name + " " + description.value_or("") + " " + brand.value_or("");
}

// A stored product rebuilt from its answer (the copy keeps no second form of it).
Product ProductFromDoc(const std::string& id, const std::string& doc) {
  auto v = json::parse(doc);
  auto& o = v.as_object();
  Product p;
  p.id = id;
  p.name = std::string(o.at("name").as_string());
  if (auto* d = o.if_contains("description")) p.description = std::string(d->as_string());
  if (auto* b = o.if_contains("brand")) p.brand = std::string(b->as_string());
  p.category = std::string(o.at("category").as_string());
  p.price = {o.at("price").at("amount").to_number<std::int64_t>(),
             std::string(o.at("price").at("currency").as_string())};
  if (auto a = model::AttributesFromJson(json::serialize(o.at("attributes"))); a.ok())
    p.attributes = std::move(a).value();
  if (auto vs = model::VariantsFromJson(json::serialize(o.at("variants"))); vs.ok()) p.variants = std::move(vs).value();
  p.status = std::string(o.at("status").as_string());
  p.version = o.at("version").to_number<std::int64_t>();
  p.created_at = std::string(o.at("created_at").as_string());
  p.updated_at = std::string(o.at("updated_at").as_string());
  return p;
}

// The words of a stored product, recovered from its answer (records keep no second copy of text).
std::vector<std::string> WordsOfJson(const std::string& id, const std::string& doc) {
  Product p = ProductFromDoc(id, doc);
  return SearchWords(SearchTextOf(p.name, p.description, p.brand));
}

bool InCategory(const std::string& category, const std::string& want) {
  return category.size() >= want.size() && category.compare(0, want.size(), want) == 0 &&
         (category.size() == want.size() || category[want.size()] == '/');
}

}  // namespace

// A product reduced to what the copy keeps, ready to index.
struct PreparedProduct {
  std::string id;
  std::int64_t version = 0;
  std::int64_t price = 0;
  std::string category;
  Status8 status = Status8::kOther;
  std::string json;                // the answer
  std::vector<std::string> words;  // for search
};

// jsonb's text output without the spaces it puts after ':' and ','. That is the document
// Boost.JSON's serializer writes for the same value (PostgreSQL escapes strings exactly as it
// does, and jsonb orders keys as our model reads them back), provided the value has the shape
// the service stores: for attributes an object of strings; for variants an array of objects
// whose keys are sku, size and color with string values. Anything else: nullopt (take the
// slow, exact path).
std::optional<std::string> CompactStoredJson(std::string_view t, bool variants) {
  std::string out;
  out.reserve(t.size());
  int depth = 0;
  for (std::size_t i = 0; i < t.size();) {
    char c = t[i];
    if (c == ' ') {
      ++i;
      continue;
    }
    if (c == '"') {
      std::size_t j = i + 1;
      while (j < t.size() && t[j] != '"') j += t[j] == '\\' ? 2 : 1;
      if (j >= t.size()) return std::nullopt;
      std::string_view token = t.substr(i, j - i + 1);
      std::size_t k = j + 1;
      while (k < t.size() && t[k] == ' ') ++k;
      if (k < t.size() && t[k] == ':') {  // a key: its value must be a string
        if (variants && token != "\"sku\"" && token != "\"size\"" && token != "\"color\"") return std::nullopt;
        std::size_t v = k + 1;
        while (v < t.size() && t[v] == ' ') ++v;
        if (v >= t.size() || t[v] != '"') return std::nullopt;
      }
      out += token;
      i = j + 1;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
      bool expected = variants ? (depth == 1 ? c == '[' : depth == 2 && c == '{') : depth == 1 && c == '{';
      if (!expected) return std::nullopt;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c != ':' && c != ',') {
      return std::nullopt;  // a number, true, false or null: not a shape we store
    }
    out += c;
    ++i;
  }
  if (depth != 0) return std::nullopt;
  return out;
}

// A snapshot row straight to what the copy keeps, without building a Product: the answer is
// assembled from the columns' text (the same bytes model::ProductJson writes). nullopt when the
// row's JSON columns are not in the stored shape.
std::optional<PreparedProduct> PrepareRow(const ProductRow& row) {
  using namespace product_column;
  for (int required :
       {kId, kName, kCategory, kPrice, kCurrency, kAttributes, kVariants, kStatus, kVersion, kCreated, kUpdated})
    if (!row[required]) return std::nullopt;
  auto attributes = CompactStoredJson(*row[kAttributes], false);
  auto variants = CompactStoredJson(*row[kVariants], true);
  auto price = ToInt(row[kPrice]), version = ToInt(row[kVersion]);
  if (!attributes || !variants || !price || !version) return std::nullopt;
  PreparedProduct p;
  p.id = std::string(*row[kId]);
  p.version = *version;
  p.price = *price;
  p.category = std::string(*row[kCategory]);
  p.status = StatusOf(*row[kStatus]);
  std::string& out = p.json;
  out.reserve(200 + row[kName]->size() + row[kDescription].value_or("").size() + attributes->size() + variants->size());
  auto field = [&out](const char* key, std::string_view value) {
    out += ",\"";
    out += key;
    out += "\":";
    model::AppendJsonString(out, value);
  };
  out += "{\"id\":";
  model::AppendJsonString(out, *row[kId]);
  field("name", *row[kName]);
  if (row[kDescription]) field("description", *row[kDescription]);
  if (row[kBrand]) field("brand", *row[kBrand]);
  field("category", *row[kCategory]);
  out += ",\"price\":{\"amount\":";
  out += std::to_string(*price);
  out += ",\"currency\":";
  model::AppendJsonString(out, *row[kCurrency]);
  out += "},\"attributes\":" + *attributes + ",\"variants\":" + *variants;
  field("status", *row[kStatus]);
  out += ",\"version\":" + std::to_string(*version);
  field("created_at", PgTimestampToRfc3339(*row[kCreated]));
  field("updated_at", PgTimestampToRfc3339(*row[kUpdated]));
  out += '}';
  std::string text(*row[kName]);
  text += ' ';
  text += row[kDescription].value_or("");
  text += ' ';
  text += row[kBrand].value_or("");
  p.words = SearchWords(text);
  return p;
}

struct CatalogCopy::Snapshot::Index {
  ProductMap products;                                // in id order, for listings
  std::unordered_map<std::string_view, Entry> by_id;  // the same entries, for one-product reads
  std::unordered_map<std::string, Postings> words;
  std::map<std::string, Postings, std::less<>> categories;
  StockTable stock;

  bool Put(const Product& p) {
    return Put(PreparedProduct{p.id, p.version, p.price.amount, p.category, StatusOf(p.status), model::ProductJson(p),
                               SearchWords(SearchTextOf(p.name, p.description, p.brand))});
  }

  // Inserts or replaces a product; false (and no change) when the held version is newer.
  bool Put(PreparedProduct p) {
    // A snapshot arrives in id order: past the last id there is nothing to find, and the new node
    // goes at the end without a search.
    bool at_end = products.empty() || products.rbegin()->first < p.id;
    auto it = at_end ? products.end() : products.find(p.id);
    if (it != products.end() && it->second.version > p.version) return false;
    const auto& new_words = p.words;
    p.json.shrink_to_fit();
    ProductRecord rec{p.version, p.price, nullptr, p.status, std::make_shared<const std::string>(std::move(p.json))};
    if (it == products.end()) {
      it = at_end ? products.emplace_hint(products.end(), std::move(p.id), std::move(rec))
                  : products.emplace(std::move(p.id), std::move(rec)).first;
      Entry e = &*it;
      by_id.emplace(e->first, e);
      for (const auto& w : new_words) AddPosting(words[w], e);
      AddToCategory(p.category, e);
      return true;
    }
    Entry e = &*it;
    auto old_words = WordsOfJson(it->first, *it->second.json);
    std::vector<std::string> gone, added;
    std::set_difference(old_words.begin(), old_words.end(), new_words.begin(), new_words.end(),
                        std::back_inserter(gone));
    std::set_difference(new_words.begin(), new_words.end(), old_words.begin(), old_words.end(),
                        std::back_inserter(added));
    for (const auto& w : gone) RemoveWord(w, e);
    for (const auto& w : added) AddPosting(words[w], e);
    const std::string* category = it->second.category;
    it->second = std::move(rec);
    if (*category != p.category) {
      RemoveCategory(e, *category);
      AddToCategory(p.category, e);
    } else {
      it->second.category = category;
    }
    return true;
  }

  void AddToCategory(const std::string& category, Entry e) {
    auto c = categories.try_emplace(category).first;
    const_cast<ProductRecord&>(e->second).category = &c->first;
    AddPosting(c->second, e);
  }

  void Erase(const std::string& id) {
    auto it = products.find(id);
    if (it == products.end()) return;
    Entry e = &*it;
    for (const auto& w : WordsOfJson(it->first, *it->second.json)) RemoveWord(w, e);
    RemoveCategory(e, *e->second.category);
    by_id.erase(e->first);
    products.erase(it);
  }

  void RemoveWord(const std::string& w, Entry e) {
    auto p = words.find(w);
    if (p == words.end()) return;
    RemovePosting(p->second, e);
    if (p->second.empty()) words.erase(p);
  }

  // `category` may be the key of the node this erases: compare it before, never after.
  void RemoveCategory(Entry e, const std::string& category) {
    auto c = categories.find(category);
    if (c == categories.end()) return;
    RemovePosting(c->second, e);
    if (c->second.empty()) categories.erase(c);
  }
};

CatalogCopy::Snapshot::Snapshot() : index_(std::make_unique<Index>()) {}
CatalogCopy::Snapshot::Snapshot(Snapshot&&) noexcept = default;
CatalogCopy::Snapshot& CatalogCopy::Snapshot::operator=(Snapshot&&) noexcept = default;
CatalogCopy::Snapshot::~Snapshot() = default;
void CatalogCopy::Snapshot::AddProduct(Product p) { index_->Put(p); }
Status CatalogCopy::Snapshot::AddProductRow(const ProductRow& row) {
  if (auto prepared = PrepareRow(row)) {
    index_->Put(std::move(*prepared));
    return Status::Ok();
  }
  auto p = ProductFromRow(row);
  if (!p.ok()) return p.status();
  index_->Put(*p);
  return Status::Ok();
}
void CatalogCopy::Snapshot::AddStock(std::string_view sku, StockRecord s) { index_->stock.PutNew(sku, s); }
void CatalogCopy::Snapshot::ReserveProducts(std::size_t n) { index_->by_id.reserve(n); }
void CatalogCopy::Snapshot::ReserveStock(std::size_t n) { index_->stock.Reserve(n); }
std::size_t CatalogCopy::Snapshot::products() const { return index_->products.size(); }

CatalogCopy::CatalogCopy() : index_(std::make_unique<Index>()) {}
CatalogCopy::~CatalogCopy() = default;

// Reads index_ without the lock on the feed's thread, the only writer (see index_).
std::size_t CatalogCopy::Install(Snapshot snapshot, Lsn lsn, bool new_history) NO_THREAD_SAFETY_ANALYSIS {
  Index& fresh = *snapshot.index_;
  // Lists grew by doubling while loading; give the spare capacity back (up to half of them).
  for (auto& [word, postings] : fresh.words) postings.shrink_to_fit();
  for (auto& [category, postings] : fresh.categories) postings.shrink_to_fit();
  std::size_t kept = 0;
  if (!new_history) {
    // Only this thread (the feed) changes index_, so it may read it without the lock. Carry over
    // every row held at a higher version than the snapshot has; walk both in id order.
    auto o = index_->products.begin();
    for (auto n = fresh.products.begin(); n != fresh.products.end() && o != index_->products.end(); ++n) {
      while (o != index_->products.end() && o->first < n->first) ++o;
      if (o != index_->products.end() && o->first == n->first && o->second.version > n->second.version) {
        fresh.Put(ProductFromDoc(o->first, *o->second.json));
        ++kept;
      }
    }
    index_->stock.ForEach([&](std::string_view sku, const StockRecord& s) {
      StockRecord* now = fresh.stock.Find(sku);
      if (now && now->version < s.version) {
        *now = s;
        ++kept;
      }
    });
  }
  std::unique_ptr<Index> old;
  {
    WriterLock lock(mu_);
    old = std::move(index_);
    index_ = std::move(snapshot.index_);
  }
  kept_newer_.fetch_add(kept, std::memory_order_relaxed);
  if (new_history) applied_.store(lsn);
  Advance(lsn);
  MarkCurrent(std::chrono::steady_clock::now());
  ready_.store(true, std::memory_order_release);
  return kept;  // `old` is freed here, outside the lock
}

void CatalogCopy::Apply(const std::vector<Change>& changes, Lsn end_lsn) {
  std::uint64_t refused = 0;
  {
    WriterLock lock(mu_);
    for (const auto& c : changes) {
      switch (c.kind) {
        case Change::Kind::kPutProduct:
          if (!index_->Put(*c.product)) ++refused;
          break;
        case Change::Kind::kDeleteProduct:
          index_->Erase(c.key);
          break;
        case Change::Kind::kPutStock:
          if (!index_->stock.Put(c.key, c.stock)) ++refused;
          break;
        case Change::Kind::kDeleteStock:
          index_->stock.Erase(c.key);
          break;
        case Change::Kind::kClearProducts:
          index_->by_id.clear();
          index_->products.clear();
          index_->words.clear();
          index_->categories.clear();
          break;
        case Change::Kind::kClearStock:
          index_->stock.Clear();
          break;
      }
    }
  }
  if (refused) kept_newer_.fetch_add(refused, std::memory_order_relaxed);
  Advance(end_lsn);
}

void CatalogCopy::Advance(Lsn lsn) {
  Lsn cur = applied_.load();
  while (cur < lsn && !applied_.compare_exchange_weak(cur, lsn)) {
  }
  MutexLock lock(wait_mu_);
  wait_cv_.NotifyAll();
}

void CatalogCopy::MarkCurrent(std::chrono::steady_clock::time_point at) {
  std::int64_t ns = at.time_since_epoch().count();
  std::int64_t cur = current_at_ns_.load();
  while (cur < ns && !current_at_ns_.compare_exchange_weak(cur, ns)) {
  }
}

std::int64_t CatalogCopy::AgeMs() const {
  std::int64_t at = current_at_ns_.load();
  if (at == 0) return std::numeric_limits<std::int32_t>::max();
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return std::max<std::int64_t>(0, (now - at) / 1'000'000);
}

bool CatalogCopy::WaitFor(Lsn lsn, std::chrono::steady_clock::time_point deadline) const {
  if (applied() >= lsn) return true;
  MutexLock lock(wait_mu_);
  return wait_cv_.WaitUntil(wait_mu_, deadline, [&] { return applied() >= lsn; });
}

Result<ProductDoc> CatalogCopy::Get(const std::string& id) const {
  ReaderLock lock(mu_);
  auto it = index_->by_id.find(id);
  if (it == index_->by_id.end()) return Status::NotFound("no product " + id);
  Entry e = it->second;
  return ProductDoc{e->first, e->second.version, e->second.json};
}

std::optional<Product> CatalogCopy::ProductOf(const std::string& id) const {
  std::shared_ptr<const std::string> doc;
  {
    ReaderLock lock(mu_);
    auto it = index_->by_id.find(id);
    if (it == index_->by_id.end()) return std::nullopt;
    doc = it->second->second.json;
  }
  return ProductFromDoc(id, *doc);
}

Result<ProductPage> CatalogCopy::List(const ProductQuery& q) const {
  ProductPage page;
  std::string after = q.after_id.value_or("");
  Status8 want_status = StatusOf(q.status);
  auto matches = [&](Entry e) {
    const ProductRecord& r = e->second;
    if (r.status != want_status) return false;
    if (q.category && !InCategory(*r.category, *q.category)) return false;
    if (q.min_price && r.price < *q.min_price) return false;
    if (q.max_price && r.price > *q.max_price) return false;
    return true;
  };
  auto take = [&](Entry e) {
    if (static_cast<int>(page.items.size()) == q.limit) {
      page.has_more = true;
      return false;
    }
    page.items.push_back({e->first, e->second.version, e->second.json});
    return true;
  };
  // Where a list (in id order) continues after the cursor.
  auto from_cursor = [&](const Postings& p) {
    return q.after_id ? std::upper_bound(p.begin(), p.end(), std::string_view(after),
                                         [](std::string_view id, Entry e) { return id < e->first; })
                      : p.begin();
  };

  ReaderLock lock(mu_);
  const Index& ix = *index_;
  if (q.text) {
    auto want = SearchWords(*q.text);
    if (want.empty()) return page;
    std::vector<const Postings*> lists;
    for (const auto& w : want) {
      auto it = ix.words.find(w);
      if (it == ix.words.end()) return page;
      lists.push_back(&it->second);
    }
    // Intersect the word lists in id order: the rarest word leads; every other list gallops forward
    // (exponential then binary search) from where it stood, so a page costs about as many steps as
    // the candidates it passes, not a full search in every list for each of them.
    std::sort(lists.begin(), lists.end(), [](auto* a, auto* b) { return a->size() < b->size(); });
    std::vector<Postings::const_iterator> pos;
    for (auto* l : lists) pos.push_back(from_cursor(*l));
    auto gallop = [](Postings::const_iterator from, Postings::const_iterator end, std::string_view id) {
      std::size_t step = 1;
      auto lo = from;
      while (lo != end && (*lo)->first < id) {
        auto hi = (static_cast<std::size_t>(end - lo) > step) ? lo + static_cast<std::ptrdiff_t>(step) : end;
        if (hi == end || !((*hi)->first < id))
          return std::lower_bound(lo, hi, id, [](Entry e, std::string_view v) { return e->first < v; });
        lo = hi;
        step *= 2;
      }
      return lo;
    };
    while (pos[0] != lists[0]->end()) {
      Entry lead = *pos[0];
      Entry ahead = nullptr;  // the first id of another list past the lead: no id before it can match
      for (std::size_t i = 1; i < lists.size() && !ahead; ++i) {
        pos[i] = gallop(pos[i], lists[i]->end(), lead->first);
        if (pos[i] == lists[i]->end()) return page;  // no later id is in every list
        if (*pos[i] != lead) ahead = *pos[i];
      }
      if (ahead) {
        pos[0] = gallop(pos[0], lists[0]->end(), ahead->first);  // leapfrog
        continue;
      }
      if (matches(lead) && !take(lead)) return page;
      ++pos[0];
    }
    return page;
  }
  if (q.category) {
    // The category itself and every category under it ("men/shirts/formal"), merged in id order.
    std::vector<const Postings*> lists;
    if (auto it = ix.categories.find(*q.category); it != ix.categories.end()) lists.push_back(&it->second);
    std::string sub = *q.category + "/";
    for (auto it = ix.categories.lower_bound(sub);
         it != ix.categories.end() && it->first.compare(0, sub.size(), sub) == 0; ++it)
      lists.push_back(&it->second);
    std::vector<std::pair<Postings::const_iterator, Postings::const_iterator>> heads;
    for (auto* l : lists)
      if (auto b = from_cursor(*l); b != l->end()) heads.emplace_back(b, l->end());
    while (!heads.empty()) {
      auto best = std::min_element(heads.begin(), heads.end(),
                                   [](const auto& a, const auto& b) { return (*a.first)->first < (*b.first)->first; });
      Entry e = *best->first;
      if (++best->first == best->second) heads.erase(best);
      if (matches(e) && !take(e)) break;
    }
    return page;
  }
  auto it = q.after_id ? ix.products.upper_bound(after) : ix.products.begin();
  for (; it != ix.products.end(); ++it)
    if (matches(&*it) && !take(&*it)) break;
  return page;
}

Result<Stock> CatalogCopy::GetStock(const std::string& sku) const {
  ReaderLock lock(mu_);
  const StockRecord* s = index_->stock.Find(sku);
  if (!s) return Status::NotFound("no sku " + sku);
  return Stock{sku, s->on_hand, s->reserved};
}

std::size_t CatalogCopy::product_count() const {
  ReaderLock lock(mu_);
  return index_->products.size();
}

std::size_t CatalogCopy::stock_count() const {
  ReaderLock lock(mu_);
  return index_->stock.size();
}

}  // namespace techmoda::copy
