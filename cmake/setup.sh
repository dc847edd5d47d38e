#!/usr/bin/env bash
# One-stop set-up on Debian 12: installs the packages xnas needs, configures and builds.
#   cmake/setup.sh [BUILD_DIR] [extra cmake arguments...]
# Installs only when something is missing, so it is cheap to run again.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
shift || true

packages=(build-essential cmake ninja-build pkg-config
  libxtensor-dev libxtensor-blas-dev libxsimd-dev xtl-dev zlib1g-dev
  catch2 libopenblas-dev liblapack-dev libbenchmark-dev libcli11-dev dataset-fashion-mnist)
# The test suite checks formatting (clang-format 14), parses the code with a second compiler
# (clang++ 14, Debian 12's clang) and runs the MPI executor on real ranks (Open MPI): the main
# job needs none of them.
if [[ " $* " == *" -DXNAS_BUILD_TESTS=ON "* ]]; then
  packages+=(clang-format clang-14 libopenmpi-dev openmpi-bin)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j "$(nproc)"
