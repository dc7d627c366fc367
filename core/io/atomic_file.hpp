#pragma once
// Saving a file so that nothing is lost and nothing is overwritten that should
// not be: snapshots and configs go through here. The target must be a regular
// file or absent (never a device, FIFO or directory); a symlink is followed and
// its target replaced, so the temp file and the rename live in the target's
// directory. A crash at any moment leaves the old file or the new one.
#include <initializer_list>
#include <string>
#include <string_view>

namespace moescope {

// The file a save to `path` replaces: `path` with symlinks followed. Throws
// DataError "cannot save <what> '<path>': ..." for an empty path, a symlink
// loop, or a target that exists and is not a regular file.
std::string resolve_save_target(const std::string& path, const char* what);

// Checks before any work is done that a save to `path` can succeed: the target
// resolves, its directory exists and this process may create files in it.
// Throws DataError naming the path and the problem. The window calls it before
// a run with autosave starts; the CLI before the first step.
void check_writable_target(const std::string& path, const char* what = "snapshot");

// Writes `parts` to a temp file "<target>.tmp-<pid>" next to the target,
// fsyncs, renames it over the target and fsyncs the directory. Temp files of
// the same target left by processes that no longer exist (a kill mid-save) are
// removed first. Throws DataError naming the path and the failing call.
void write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts, const char* what);

}  // namespace moescope
