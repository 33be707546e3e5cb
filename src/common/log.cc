#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <memory>

#include "common/json_util.h"

namespace techmoda::log {
namespace {

struct State {
  Level min_level = Level::kInfo;
  boost::json::object static_fields;
  std::shared_ptr<spdlog::logger> logger;
};

State& GetState() {
  static State state = [] {
    State s;
    // spdlog owns the sink and its locking; the line itself is already JSON, so the pattern is bare.
    s.logger = spdlog::stderr_logger_mt("techmoda-json");
    s.logger->set_pattern("%v");
    s.logger->set_level(spdlog::level::trace);
    s.logger->flush_on(spdlog::level::trace);
    return s;
  }();
  return state;
}

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void Init(Level min_level, boost::json::object static_fields) {
  State& s = GetState();
  s.min_level = min_level;
  s.static_fields = std::move(static_fields);
}

void Write(Level level, std::string_view event, boost::json::object fields) {
  State& s = GetState();
  if (level < s.min_level) return;
  boost::json::object line;
  line["ts"] = NowRfc3339();
  line["level"] = LevelName(level);
  line["event"] = event;
  for (auto& kv : s.static_fields) line[kv.key()] = kv.value();
  for (auto& kv : fields) line[kv.key()] = std::move(kv.value());
  s.logger->info(boost::json::serialize(line));
}

bool ParseLevel(std::string_view text, Level* out) {
  if (text == "debug")
    *out = Level::kDebug;
  else if (text == "info")
    *out = Level::kInfo;
  else if (text == "warn")
    *out = Level::kWarn;
  else if (text == "error")
    *out = Level::kError;
  else
    return false;
  return true;
}

std::optional<unsigned short> ListeningPort(std::string_view log_text) {
  auto at = log_text.find("\"event\":\"catalogd.listening\"");
  if (at == std::string_view::npos) return std::nullopt;
  auto begin = log_text.rfind('\n', at), end = log_text.find('\n', at);
  begin = begin == std::string_view::npos ? 0 : begin + 1;
  if (end == std::string_view::npos) return std::nullopt;  // the line is not complete yet
  boost::system::error_code ec;
  auto line = boost::json::parse(log_text.substr(begin, end - begin), ec);
  if (ec || !line.is_object()) return std::nullopt;
  const auto* port = line.as_object().if_contains("port");
  if (!port || !port->is_int64() || port->as_int64() <= 0 || port->as_int64() > 65535) return std::nullopt;
  return static_cast<unsigned short>(port->as_int64());
}

}  // namespace techmoda::log
