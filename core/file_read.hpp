#pragma once
// Reading a file named from anywhere (a config, CSV or text data, a snapshot, a
// sweep file): only a regular file is read, so a FIFO never blocks the open and
// /dev/zero never fills memory, and never more than a limit that the refusal
// names. Shared by data/, train/ and io/, so it sits next to error.hpp.
#include <cstddef>
#include <string>

namespace moescope {

inline constexpr size_t kMiB = size_t(1) << 20;
// What each reader reads at most: far above any real file of its kind, far
// below what would exhaust a machine's memory.
inline constexpr size_t kMaxConfigBytes = 16 * kMiB;
inline constexpr size_t kMaxSweepBytes = 256 * kMiB;
inline constexpr size_t kMaxTextBytes = 256 * kMiB;
inline constexpr size_t kMaxCsvBytes = 1024 * kMiB;
inline constexpr size_t kMaxSnapshotBytes = 16384 * kMiB;

// The whole of `path`. Throws DataError "cannot open <what> '<path>': <why>"
// when it is missing, not a regular file (a FIFO, device, directory, socket)
// or unreadable, and "<what> '<path>' is <n> bytes, over the <limit> limit for
// a <what>" when it is larger than `limit` bytes.
std::string read_regular_file(const std::string& path, size_t limit, const std::string& what);

// At most the first `max_bytes` of `path`; "" when it is not a readable
// regular file (for a peek whose caller reports errors elsewhere).
std::string read_file_start(const std::string& path, size_t max_bytes);

// "512 MiB", "4 GiB", "1000 bytes": a limit as a message names it.
std::string size_text(size_t bytes);

}  // namespace moescope
