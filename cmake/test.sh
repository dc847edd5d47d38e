#!/usr/bin/env bash
# Set-up, build and run the whole test suite (the README's second command).
#   cmake/test.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
bash "$here/cmake/setup.sh" "$build" -DXNAS_BUILD_TESTS=ON -DXNAS_BUILD_EXAMPLES=ON
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
