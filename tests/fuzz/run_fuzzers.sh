#!/bin/sh
# Fuzzing campaign of the readers of outside input (tests/fuzz/targets.hpp) with libFuzzer:
# builds the fuzz binary with clang++ (ASan + UBSan) in its own build directory, then runs the
# targets one after another, MINUTES each. Not part of the test suite: the suite replays the
# corpora in tests/fuzz/corpus (label `fuzz`).
#
#   tests/fuzz/run_fuzzers.sh [MINUTES] [TARGET...]     (default: 10 minutes, every target)
#
# An input slower than 1 s (-timeout=1), a process over 2 GB or a single allocation over 2 GB
# (-rss_limit_mb=2048) counts as a finding, as do crashes, sanitizer reports and broken
# expectations. Fork mode (one child at a time) keeps a target running past a finding; findings
# land in BUILD/runs/<target>/artifacts. New inputs stay in BUILD/runs/<target>/corpus; with
# MERGE=1 the ones that add coverage are merged into tests/fuzz/corpus/<target> (kept small).
#
# Environment: CXX (default clang++-14), BUILD (default <repo>/build-fuzz), JOBS (build
# parallelism, default 2), NICE (default 10), MERGE (default 0).
set -eu

minutes=${1:-10}
[ $# -gt 0 ] && shift
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$src/build-fuzz}
targets=${*:-json journal idx npy cifar csv config space nn_load}
launcher=""
command -v ccache >/dev/null && launcher=-DCMAKE_CXX_COMPILER_LAUNCHER=ccache

cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE= -DCMAKE_CXX_COMPILER="${CXX:-clang++-14}" \
    -DXNAS_FUZZ=ON -DXNAS_BUILD_TESTS=OFF -DXNAS_BUILD_EXAMPLES=OFF -DXNAS_MPI=OFF $launcher >/dev/null
nice -n "${NICE:-10}" ninja -C "$build" -j "${JOBS:-2}" xnas_fuzz
fuzzer=$build/tests/fuzz/xnas_fuzz

printf '%-8s %8s %12s %8s %8s %9s %9s %12s\n' target minutes executions corpus crashes timeouts ooms slowest_ms \
    >"$build/runs-summary.txt"
for t in $targets; do
    work=$build/runs/$t
    mkdir -p "$work/corpus" "$work/artifacts"
    echo "== $t: $minutes min" >&2
    XNAS_FUZZ_TARGET=$t nice -n "${NICE:-10}" "$fuzzer" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
        -ignore_ooms=1 -max_total_time=$((minutes * 60)) -timeout=1 -rss_limit_mb=2048 \
        -artifact_prefix="$work/artifacts/" "$work/corpus" "$src/tests/fuzz/corpus/$t" \
        >"$work/log" 2>&1 || true
    # Executions from the last status line of fork mode ("#<executions>: cov: .."); findings
    # from the artifacts, as the status line leaves out those of the initial corpus.
    execs=$(grep -E '^#[0-9]+: cov' "$work/log" | tail -n 1 | sed -E 's/^#([0-9]+):.*/\1/')
    count() { find "$work/artifacts" -name "$1-*" -type f | wc -l; }
    otc="$(count oom) $(count timeout) $(count crash)"
    # The slowest input: every corpus file once more, timed one by one (the sanitized build).
    slowest=$(find "$work/corpus" "$src/tests/fuzz/corpus/$t" -type f -print0 |
        XNAS_FUZZ_TARGET=$t xargs -0 nice -n "${NICE:-10}" "$fuzzer" -rss_limit_mb=2048 2>&1 |
        sed -nE 's/^Executed .* in ([0-9]+) ms$/\1/p' | sort -n | tail -n 1)
    corpus=$(find "$work/corpus" -type f | wc -l)
    set -- $otc
    printf '%-8s %8s %12s %8s %8s %9s %9s %12s\n' "$t" "$minutes" "${execs:-?}" "$corpus" "${3:-?}" \
        "${2:-?}" "${1:-?}" "${slowest:-?}" >>"$build/runs-summary.txt"
    if [ "${MERGE:-0}" = 1 ]; then
        XNAS_FUZZ_TARGET=$t "$fuzzer" -merge=1 -rss_limit_mb=2048 "$src/tests/fuzz/corpus/$t" \
            "$work/corpus" >"$work/merge.log" 2>&1
    fi
done
cat "$build/runs-summary.txt"
ls "$build"/runs/*/artifacts/ 2>/dev/null | grep -v '^$' || true
