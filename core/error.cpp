#include "error.hpp"

namespace moescope {

void fail_internal(const char* file, int line, const char* expr, const std::string& what) {
    throw Error(std::string(file) + ":" + std::to_string(line) + ": internal error: " + what + " (check failed: " +
                expr + ")");
}

}  // namespace moescope
