// libFuzzer target over everything the copy's feed decodes from the database connection: walsender
// frames, pgoutput messages, COPY text rows, and snapshot rows (whose jsonb text takes the fast path
// or the exact one). None may crash, hang or read out of bounds, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "catalogd/copy/catalog_copy.h"
#include "catalogd/copy/pgoutput.h"
#include "common/pg.h"

using namespace techmoda;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto frame = copy::ParseFrame(bytes); frame.ok() && frame->kind == copy::Frame::Kind::kData)
    (void)copy::ParseMessage(frame->payload);
  (void)copy::ParseMessage(bytes);
  (void)copy::ParseLsn(bytes);

  pg::CopyRow row;
  pg::SplitCopyLine(bytes, row);
  // The same line as a products row: fields past the 13th are ignored, missing ones are NULL.
  copy::ProductRow product;
  for (std::size_t i = 0; i < product.size() && i < row.fields.size(); ++i) product[i] = row.fields[i];
  copy::CatalogCopy::Snapshot snapshot;
  (void)snapshot.AddProductRow(product);
  copy::StockRow stock;
  for (std::size_t i = 0; i < stock.size() && i < row.fields.size(); ++i) stock[i] = row.fields[i];
  (void)copy::StockFromRow(stock);
  (void)copy::SearchWords(bytes);
  (void)copy::PgTimestampToRfc3339(bytes);
  return 0;
}
