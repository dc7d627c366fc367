#pragma once
// Reading counts out of JSON that came from a file (a snapshot's metadata, the
// monitor state inside it). Shared by io/ and monitor/, so it sits next to
// error.hpp rather than in either layer.
#include <string>

#include <nlohmann/json.hpp>

namespace moescope {

// `v` as a whole number in [lo, hi]. get<long>() would silently truncate a
// float and wrap a huge value; a damaged file gets DataError
// "<what> must be a whole number in [lo, hi], got <v>" instead.
long json_whole(const nlohmann::json& v, const std::string& what, long lo, long hi);

// A file path as JSON. Paths are bytes, JSON text is UTF-8: a path that is no
// UTF-8 becomes {"hex": "<its bytes>"} (as configs and snapshots store it, and
// reads back to the same bytes), so JSON output never fails on a path.
nlohmann::json path_to_json(const std::string& path);

// A JSON value from a file as a message may show it: its JSON text (bytes that
// are not UTF-8 replaced, never an exception), at most `max` bytes, escaped
// (clip_text), so a damaged file's megabyte value stays one short line.
std::string json_excerpt(const nlohmann::json& v, size_t max = 40);

}  // namespace moescope
