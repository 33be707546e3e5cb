#include "catalogd/copy/pgoutput.h"

#include <cstdio>

namespace techmoda::copy {
namespace {

// A bounds-checked big-endian reader over one message.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ >= b_.size(); }
  std::uint64_t Int(int bytes) {
    if (!Need(bytes)) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(b_[pos_++]);
    return v;
  }
  char Byte() { return static_cast<char>(Int(1)); }
  std::string_view Bytes(std::size_t n) {
    if (!Need(n)) return {};
    auto s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view CString() {
    auto end = b_.find('\0', pos_);
    if (end == std::string_view::npos) {
      ok_ = false;
      return {};
    }
    auto s = b_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  std::string_view Rest() { return Bytes(b_.size() - pos_); }

 private:
  bool Need(std::size_t n) {
    if (!ok_ || b_.size() - pos_ < n) ok_ = false;
    return ok_;
  }
  std::string_view b_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

bool ReadTuple(Reader& r, Tuple& out) {
  auto n = r.Int(2);
  out.clear();
  out.reserve(n);
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    Column c;
    switch (r.Byte()) {
      case 'n':
        c.kind = Column::Kind::kNull;
        break;
      case 'u':
        c.kind = Column::Kind::kUnchangedToast;
        break;
      case 't': {
        c.kind = Column::Kind::kText;
        auto len = r.Int(4);
        c.text = std::string(r.Bytes(len));
        break;
      }
      default:
        return false;  // 'b' (binary) is never asked for
    }
    out.push_back(std::move(c));
  }
  return r.ok();
}

Status Malformed(std::string_view what) {
  return Status::Internal("malformed replication message: " + std::string(what));
}

}  // namespace

std::optional<Lsn> ParseLsn(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash > 8 || text.size() - slash - 1 == 0 ||
      text.size() - slash - 1 > 8)
    return std::nullopt;
  Lsn hi = 0, lo = 0;
  auto hex = [](std::string_view s, Lsn& out) {
    for (char c : s) {
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return false;
      out = out * 16 + static_cast<Lsn>(d);
    }
    return true;
  };
  if (!hex(text.substr(0, slash), hi) || !hex(text.substr(slash + 1), lo)) return std::nullopt;
  return (hi << 32) | lo;
}

std::string FormatLsn(Lsn lsn) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32), static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

Result<Frame> ParseFrame(std::string_view bytes) {
  Reader r(bytes);
  Frame f;
  switch (r.Byte()) {
    case 'w':
      f.kind = Frame::Kind::kData;
      f.wal_start = r.Int(8);
      f.wal_end = r.Int(8);
      r.Int(8);  // the server's send time
      f.payload = r.Rest();
      break;
    case 'k':
      f.kind = Frame::Kind::kKeepalive;
      f.wal_end = r.Int(8);
      r.Int(8);
      f.reply_requested = r.Byte() != 0;
      break;
    default:
      return Malformed("unknown frame type");
  }
  if (!r.ok()) return Malformed("short frame");
  return f;
}

std::string StatusUpdate(Lsn written, Lsn flushed, Lsn applied, std::int64_t now_unix_micros, bool reply_requested) {
  std::string out(1, 'r');
  auto put = [&out](std::uint64_t v) {
    for (int i = 7; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  put(written);
  put(flushed);
  put(applied);
  put(static_cast<std::uint64_t>(now_unix_micros - kPgEpochOffsetMicros));
  out += static_cast<char>(reply_requested ? 1 : 0);
  return out;
}

Result<Message> ParseMessage(std::string_view bytes) {
  Reader r(bytes);
  Message m;
  char type = r.Byte();
  switch (type) {
    case 'B':
      m.kind = Message::Kind::kBegin;
      m.lsn = r.Int(8);
      m.commit_time = static_cast<std::int64_t>(r.Int(8));
      r.Int(4);  // xid
      break;
    case 'C':
      m.kind = Message::Kind::kCommit;
      r.Int(1);  // flags
      m.lsn = r.Int(8);
      m.end_lsn = r.Int(8);
      m.commit_time = static_cast<std::int64_t>(r.Int(8));
      break;
    case 'R': {
      m.kind = Message::Kind::kRelation;
      m.relation = static_cast<std::uint32_t>(r.Int(4));
      std::string ns(r.CString());
      m.relation_name = (ns.empty() ? "pg_catalog" : ns) + "." + std::string(r.CString());
      r.Int(1);  // replica identity
      auto n = r.Int(2);
      for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
        r.Int(1);  // flags
        m.columns.emplace_back(r.CString());
        r.Int(4);  // type oid
        r.Int(4);  // type modifier
      }
      break;
    }
    case 'I':
      m.kind = Message::Kind::kInsert;
      m.relation = static_cast<std::uint32_t>(r.Int(4));
      if (r.Byte() != 'N' || !ReadTuple(r, m.new_tuple)) return Malformed("insert");
      break;
    case 'U': {
      m.kind = Message::Kind::kUpdate;
      m.relation = static_cast<std::uint32_t>(r.Int(4));
      char next = r.Byte();
      if (next == 'K' || next == 'O') {
        m.old_tuple.emplace();
        if (!ReadTuple(r, *m.old_tuple)) return Malformed("update");
        next = r.Byte();
      }
      if (next != 'N' || !ReadTuple(r, m.new_tuple)) return Malformed("update");
      break;
    }
    case 'D': {
      m.kind = Message::Kind::kDelete;
      m.relation = static_cast<std::uint32_t>(r.Int(4));
      char next = r.Byte();
      m.old_tuple.emplace();
      if ((next != 'K' && next != 'O') || !ReadTuple(r, *m.old_tuple)) return Malformed("delete");
      break;
    }
    case 'T': {
      m.kind = Message::Kind::kTruncate;
      auto n = r.Int(4);
      r.Int(1);  // options
      for (std::uint64_t i = 0; i < n && r.ok(); ++i) m.truncated.push_back(static_cast<std::uint32_t>(r.Int(4)));
      break;
    }
    default:
      m.kind = Message::Kind::kOther;  // origin, type, logical message: nothing the copy needs
      return m;
  }
  if (!r.ok()) return Malformed(std::string(1, type));
  return m;
}

}  // namespace techmoda::copy
