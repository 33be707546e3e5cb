#include "techmoda/status.h"

namespace techmoda {

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s = type_ + ": " + detail_;
  for (const auto& e : errors_) s += " [" + e.pointer + ": " + e.message + "]";
  return s;
}

}  // namespace techmoda
