#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer: the README's test
# command's targets built with -DXNAS_SANITIZE=ON at -O1 (sanitized code at -O3 compiles for
# far longer and finds nothing more), then ctest. Takes about three times the plain suite, so it
# runs beside CI rather than in it.
#   cmake/sanitize.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-sanitize}
bash "$here/cmake/setup.sh" "$build" -DXNAS_BUILD_TESTS=ON -DXNAS_BUILD_EXAMPLES=ON \
    -DXNAS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1
UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 1500
