// Structured logging: one JSON object per line on stderr. Never pass a secret as a field.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string_view>

namespace techmoda::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// Sets the lowest level written and the static fields added to every line (e.g. service, instance).
// Call once at start, before other threads log.
void Init(Level min_level, boost::json::object static_fields);

// Writes {"ts", "level", "event", ...fields, ...static fields} as one line. Thread-safe.
void Write(Level level, std::string_view event, boost::json::object fields = {});

inline void Info(std::string_view event, boost::json::object fields = {}) {
  Write(Level::kInfo, event, std::move(fields));
}
inline void Warn(std::string_view event, boost::json::object fields = {}) {
  Write(Level::kWarn, event, std::move(fields));
}
inline void Error(std::string_view event, boost::json::object fields = {}) {
  Write(Level::kError, event, std::move(fields));
}

// Parses "debug", "info", "warn", "error"; returns false for anything else.
bool ParseLevel(std::string_view text, Level* out);

// The port a catalogd bound, from the first "catalogd.listening" line of its log (`--listen HOST:0`
// lets the kernel choose), or nothing while that line has not been written.
std::optional<unsigned short> ListeningPort(std::string_view log_text);

}  // namespace techmoda::log
