#pragma once
// Is there a GPU this binary can train on? One probe, one answer with a reason
// a person can act on. Plain C++: callers need no CUDA headers.
#include <cstddef>
#include <string>

namespace moescope::cuda_ops {

struct DeviceStatus {
    bool usable = false;
    std::string reason;  // why not usable, one line ("no CUDA device", "driver too old ..."); empty when usable
    std::string name;    // device 0, e.g. "NVIDIA H100 80GB HBM3" (empty when none was found)
    int cc_major = 0, cc_minor = 0;  // compute capability
    size_t memory = 0;               // total global memory in bytes
};

// Probes device 0 (after CUDA_VISIBLE_DEVICES): driver present and new enough,
// a device, a kernel image for its compute capability, a context that starts.
// Never throws; the answer is computed once per process.
DeviceStatus probe_device();

// "major.minor" of a CUDA version number as the runtime reports it (13000 → "13.0").
std::string cuda_version_text(int version);

}  // namespace moescope::cuda_ops
