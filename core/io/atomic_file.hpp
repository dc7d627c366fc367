#pragma once
// Saving a file so that nothing is lost and nothing is overwritten that should
// not be: every file the project writes goes through here (snapshots, configs,
// reports, metrics, sweep files and exports, the window's images). A target
// that exists must be a regular file: a symlink, device, FIFO or directory is
// refused, never replaced or written through. The temp file is created next
// to the target under an unpredictable name with O_CREAT|O_EXCL|O_NOFOLLOW (a
// link planted there is never followed), fsynced and renamed into place, so a
// crash at any moment leaves the old file or the new one.
#include <sys/types.h>

#include <initializer_list>
#include <string>
#include <string_view>

namespace moescope {

// Throws DataError "cannot save <what> '<path>': ..." for an empty path or an
// existing `path` that is not a regular file (a symlink, device, FIFO or directory).
void check_save_target(const std::string& path, const char* what);

// Checks before any work is done that a save to `path` can succeed: the target
// passes check_save_target, its directory exists and this process may create
// files in it. Throws DataError naming the path and the problem. The window
// calls it before a run with autosave starts; the CLI before the first step.
void check_writable_target(const std::string& path, const char* what = "snapshot");

// Which file is at `path` now, to tell later whether another process replaced
// it: exists false when there is none.
struct FileIdentity {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const FileIdentity&) const = default;
};
FileIdentity file_identity(const std::string& path);

// Writes `parts` to a temp file "<target>.tmp-<pid>-<random>" next to the
// target, fsyncs, renames it over the target and fsyncs the directory. Temp
// files of the same target left by processes that no longer exist (a kill
// mid-save) are removed first. Throws DataError naming the path and the
// failing call. With `expected`, the save is refused (DataError saying another
// process saved there) when a file other than the one `expected` describes is
// at `path`; when there is none, the rename itself refuses to replace one that
// appears meanwhile (no window between the check and the rename). Returns the
// identity of the file written.
FileIdentity write_file_atomically(const std::string& path, std::initializer_list<std::string_view> parts,
                                   const char* what, const FileIdentity* expected = nullptr);

// For a file that grows while a run goes on (the CLI's --metrics log): creates
// `path` or empties the regular file there and returns a file descriptor open
// for writing. Refuses (DataError) what check_save_target refuses, without
// following a symlink or blocking on a FIFO.
int open_growing_file(const std::string& path, const char* what);

// Writes all of `bytes` to `fd` (retrying short writes and EINTR). Returns
// false with errno set when the write fails (EPIPE, ENOSPC, ...).
bool write_all(int fd, std::string_view bytes);

}  // namespace moescope
