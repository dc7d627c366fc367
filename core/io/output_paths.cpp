#include "io/output_paths.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "error.hpp"

namespace moescope {

namespace fs = std::filesystem;

namespace {

std::string normal_path(const std::string& p) {
    std::error_code ec;
    fs::path abs = fs::absolute(p, ec);
    if (ec) return p;
    fs::path canon = fs::weakly_canonical(abs, ec);
    return (ec ? abs.lexically_normal() : canon).string();
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {
    }, sb{};
    if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return normal_path(a) == normal_path(b);
}

void check_outputs_distinct(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs,
                            const std::vector<std::pair<std::string, std::string>>& allowed) {
    for (size_t o = 0; o < outputs.size(); ++o) {
        const NamedPath& out = outputs[o];
        if (out.path.empty()) continue;
        for (const NamedPath& in : inputs) {
            if (in.path.empty() || !same_file(in.path, out.path)) continue;
            if (std::find(allowed.begin(), allowed.end(), std::pair{in.what, out.what}) != allowed.end()) continue;
            throw ConfigError(out.what + " '" + out.path + "' is the same file as " + in.what + " '" + in.path +
                              "': writing it would destroy what the run reads; choose another output path");
        }
        for (size_t p = 0; p < o; ++p)
            if (!outputs[p].path.empty() && same_file(outputs[p].path, out.path))
                throw ConfigError(outputs[p].what + " '" + outputs[p].path + "' and " + out.what + " '" + out.path +
                                  "' are the same file: one would overwrite the other; choose two different paths");
    }
}

}  // namespace moescope
