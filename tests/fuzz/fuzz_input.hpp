#pragma once
// The readers under fuzzing take file paths, as the app gives them: each input
// is written to one scratch file per process (in /dev/shm when it exists, so no
// disk is involved) and read back by path.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace moescope::fuzz {

inline const std::string& scratch_path(const char* ext) {
    static const std::string path = std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") +
                                    "/moescope-fuzz-" + std::to_string(getpid()) + ext;
    return path;
}

inline const std::string& write_input(const uint8_t* data, size_t size, const char* ext) {
    const std::string& path = scratch_path(ext);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
    return path;
}

}  // namespace moescope::fuzz
