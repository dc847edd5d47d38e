#!/usr/bin/env bash
# Candidate throughput of xnas-search with both cores: W=2 workers x 1 BLAS thread against
# W=1 worker x 1 thread and W=1 worker x 2 threads, on the same random-search trials (same seed,
# so the same architectures), in one run. Prints candidates per minute and the ratios. When the
# build has xnas-search-mpi, the same trials on 2 MPI worker ranks (mpiexec -n 3: rank 0 only
# searches) are measured beside them.
#   benchmarks/parallel_throughput.sh [BUILD_DIR] [TRIALS]
set -euo pipefail
build=${1:-build}
trials=${2:-12}
tool=$build/examples/xnas-search
out=$(mktemp -d)
mpi_tool=$build/examples/xnas-search-mpi
# Open MPI refuses root and more ranks than cores unless told.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
run() { # workers threads [launcher...] -> search seconds
  local w=$1 t=$2 dir=$out/w$1t$2$#
  shift 2
  "$@" --space chain --strategy random --trials "$trials" --train-subset 4000 --epochs 1 \
    --final-epochs 1 --final-limit 1000 --workers "$w" --threads "$t" --seed 11 --out "$dir" \
    2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["search_seconds"])'
}
for rep in 1 2; do
  s11=$(run 1 1 "$tool"); s12=$(run 1 2 "$tool"); s21=$(run 2 1 "$tool")
  m21=0
  if [ -x "$mpi_tool" ]; then m21=$(run 2 1 mpiexec -n 3 "$mpi_tool"); fi
  /usr/bin/python3 - "$trials" "$s11" "$s12" "$s21" "$m21" <<'PY'
import json, sys
n, s11, s12, s21, m21 = int(sys.argv[1]), *map(float, sys.argv[2:])
rate = lambda s: round(60 * n / s, 2)
r = {"trials": n, "w1t1_per_min": rate(s11), "w1t2_per_min": rate(s12),
     "w2t1_per_min": rate(s21), "w2t1_over_w1t1": round(s11 / s21, 3),
     "w2t1_over_w1t2": round(s12 / s21, 3)}
if m21 > 0:
    r.update({"mpi2_per_min": rate(m21), "mpi2_over_w1t1": round(s11 / m21, 3),
              "mpi2_over_w2t1": round(s21 / m21, 3)})
print(json.dumps(r))
PY
  rm -rf "$out"/w*
done
