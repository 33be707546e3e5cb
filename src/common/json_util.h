// Small helpers shared by the server, the store and the tools: canonical JSON, UTF-8, hashing, ids.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace techmoda {

// Serializes with object keys sorted by byte order at every level, so that two equal JSON values
// (key order and white space aside) give the same text. Used for idempotency fingerprints.
std::string CanonicalJson(const boost::json::value& v);

// Number of Unicode code points in valid UTF-8 text.
std::size_t CodePointCount(std::string_view utf8);

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view text);
// `text` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD, so that it can be
// echoed in JSON. Valid text comes back unchanged.
std::string ToValidUtf8(std::string_view text);

// Lower-case hex SHA-256 of the bytes.
std::string Sha256Hex(std::string_view data);

// `bytes` random bytes from the OS generator as lower-case hex. Thread-safe.
std::string RandomHex(std::size_t bytes);
// Random identifiers (request, write and order ids) that must be unique, not secret: a per-thread
// xoshiro256** generator seeded from RandomHex's source. OpenSSL's RAND_bytes costs a getpid()
// system call per call (its fork check), which showed in the GET path's profile.
std::string UniqueHex(std::size_t bytes);

// URL-safe base64 without padding (RFC 4648 section 5), and its inverse (nullopt on bad input).
std::string Base64UrlEncode(std::string_view data);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// True for [A-Za-z0-9][A-Za-z0-9._-]{0,63}: the form of product ids, skus and customer ids.
bool IsValidIdentifier(std::string_view s);

// Current time as RFC 3339 UTC with milliseconds ("2026-11-25T21:53:47.123Z").
std::string NowRfc3339();

}  // namespace techmoda
