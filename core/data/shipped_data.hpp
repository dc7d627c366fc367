#pragma once
// Data files that ship with moescope (resources/data: lighthouse.txt, …), found
// by name wherever the program runs, so a preset can name one.
#include <string>

namespace moescope {

// `path` itself when a file can be read there; else the file of that name in the
// source tree's resources/data or the installed data folder (share/moescope/data),
// whichever exists first; else `path` unchanged, so reading it fails naming it.
std::string shipped_data_path(const std::string& path);

}  // namespace moescope
