#!/usr/bin/env bash
# Shared helpers for scripts/run and scripts/test. Source it; don't execute it.
set -euo pipefail

# Debian 12 packages needed to build, test and run moescope.
# (qt6-svg-dev is the real name of the virtual libqt6svg6-dev; dpkg-query only sees real packages.)
# libdnnl-dev runs the float GEMMs (oneDNN); libopenblas-openmp-dev is measured by the bench's roofline.
MOESCOPE_DEPS=(
  build-essential cmake ninja-build pkg-config clang-format
  qt6-base-dev qt6-base-dev-tools qt6-svg-dev libqcustomplot-dev
  libeigen3-dev nlohmann-json3-dev
  libdnnl-dev libopenblas-openmp-dev
  xvfb xauth libgl-dev libopengl-dev libglx-dev
  fonts-dejavu-core python3-numpy
  clang-14 libclang-rt-14-dev libomp-14-dev
)

MOESCOPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MOESCOPE_ROOT

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ensure_deps [PACKAGE...]: install whichever of the packages (default:
# MOESCOPE_DEPS) are missing; nothing, if all are present.
ensure_deps() {
  local pkg missing=() wanted=("$@")
  ((${#wanted[@]})) || wanted=("${MOESCOPE_DEPS[@]}")
  for pkg in "${wanted[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  ((${#missing[@]})) || return 0

  local sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 ||
      die "missing packages (${missing[*]}) and not root, and sudo is not available; install them as root"
    sudo=(sudo)
  fi
  say "installing missing packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# configure_and_build BUILD_DIR [extra cmake args...]
configure_and_build() {
  local dir="$1"; shift
  local nvcc=/usr/local/cuda/bin/nvcc cuda_arg
  if [[ -x "$nvcc" ]]; then
    cuda_arg="-DCMAKE_CUDA_COMPILER=$nvcc"
  else
    cuda_arg="-DMOESCOPE_CUDA=OFF"
  fi
  # MOESCOPE_ARCH=portable|native|x86-64-v3|... in the environment picks the CPU
  # target; unset, the build keeps what its cache says (default auto: x86-64-v3
  # where this CPU has it).
  local arch_arg=()
  [[ -n "${MOESCOPE_ARCH:-}" ]] && arch_arg=("-DMOESCOPE_ARCH=$MOESCOPE_ARCH")
  say "building (Release) in ${dir#"$MOESCOPE_ROOT"/}/"
  cmake -S "$MOESCOPE_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$cuda_arg" "${arch_arg[@]}" "$@"
  cmake --build "$dir" -j "${MOESCOPE_JOBS:-2}"
}
