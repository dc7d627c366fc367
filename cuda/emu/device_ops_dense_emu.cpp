// The emulation build of engine/device_ops_dense.cu: the same kernels, run on the host.
#include "engine/device_ops_dense.cu"
