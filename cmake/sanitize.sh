#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer: the README's test
# command's targets built with -DXNAS_SANITIZE=ON by clang++ 14 at -O1 with line tables only
# (clang compiles the instrumented code about twice as fast as g++ 12, and -O3 or full debug
# information would only slow the build), then ctest. CI runs it after the plain suite.
#   cmake/sanitize.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-sanitize}
bash "$here/cmake/setup.sh" "$build" -DXNAS_BUILD_TESTS=ON -DXNAS_BUILD_EXAMPLES=ON \
    -DXNAS_SANITIZE=ON -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only"
UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS="suppressions=$here/cmake/lsan.supp" ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 1500
