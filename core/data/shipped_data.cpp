#include "data/shipped_data.hpp"

#include "error.hpp"

namespace moescope {

std::string shipped_data_path(const std::string& path) {
    if (path.empty() || unreadable_file_reason(path).empty()) return path;
    for (const std::string dir : {MOESCOPE_SOURCE_DIR "/resources/data/", MOESCOPE_DATA_DIR "/data/"})
        if (unreadable_file_reason(dir + path).empty()) return dir + path;
    return path;
}

}  // namespace moescope
