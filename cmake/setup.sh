#!/usr/bin/env bash
# One-stop set-up on Debian 12: installs the packages xnas needs, configures and builds.
#   cmake/setup.sh [BUILD_DIR] [--target TARGET]... [extra cmake arguments...]
# With --target only those targets are built (`--target xnas_search`: the command-line tool
# alone), else every target. Installs only when something is missing, so it is cheap to run again.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
shift || true
targets=()
configure=()
while (($#)); do
  if [[ "$1" == --target ]]; then
    if (($# < 2)); then
      echo "cmake/setup.sh: --target needs a target name (e.g. --target xnas_search)" >&2
      exit 2
    fi
    targets+=(--target "$2")
    shift 2
  else
    configure+=("$1")
    shift
  fi
done

packages=(build-essential cmake ninja-build pkg-config
  libxtensor-dev libxtensor-blas-dev libxsimd-dev xtl-dev zlib1g-dev
  catch2 libopenblas-dev liblapack-dev libbenchmark-dev libcli11-dev dataset-fashion-mnist)
# The test suite checks formatting (clang-format 14), parses the code with a second compiler
# (clang++ 14, Debian 12's clang), runs the MPI executor on real ranks (Open MPI) and checks the
# exported ONNX models (python3-onnx) and builds a decimal-comma locale from the sources of
# `locales` (what xnas writes reads back in any locale): the main job needs none of them.
if [[ " ${configure[*]-} " == *" -DXNAS_BUILD_TESTS=ON "* ]]; then
  packages+=(clang-format clang-14 libopenmpi-dev openmpi-bin python3-onnx locales)
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

cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${configure[@]}"
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
