#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

#include "techmoda/rate_limit.h"

namespace techmoda {
namespace {

std::optional<double> ParseNumber(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !(v >= 0) || v > 1e9) return std::nullopt;
  return v;
}

}  // namespace

Result<RateLimit> ParseRateLimit(std::string_view text) {
  if (text == "0" || text == "off" || text.empty()) return RateLimit{};
  auto slash = text.find('/');
  auto rate = ParseNumber(text.substr(0, slash));
  std::optional<double> burst = slash == std::string_view::npos ? std::optional<double>(rate ? *rate * 2 : 0)
                                                                : ParseNumber(text.substr(slash + 1));
  if (!rate || !burst)
    return Status::Invalid(
        "a rate limit is RATE/BURST in requests per second and requests (\"200/400\"), RATE, or "
        "off; got \"" +
        std::string(text) + "\"");
  if (*rate == 0) return RateLimit{};
  return RateLimit{*rate, std::max(1.0, *burst)};
}

}  // namespace techmoda
