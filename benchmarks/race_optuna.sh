#!/usr/bin/env bash
# The race of benchmarks/README.md: xnas-search and Optuna TPE + PyTorch search the image space at
# once, one worker each, on the same validation split, for 30 minutes each.
#   benchmarks/race_optuna.sh XNAS_SEARCH OUT SEED [more xnas-search options, e.g. --strategy tpe]
# Writes OUT/xnas.json and OUT/optuna.json (each side's one-line summary), OUT/xnas/ (the search's
# directory: journal, report) and OUT/optuna-trials.csv (every Optuna trial with its duration and
# parameters).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 XNAS_SEARCH OUT SEED [xnas-search options...]" >&2
  exit 2
fi
xnas=$1 out=$2 seed=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
opts=(--minutes 30 --epochs 2 --train-subset 10000 --max-params 100000 --max-mflops 10
      --final-epochs 3 --seed "$seed")
mkdir -p "$out"
"$xnas" --space chain "${opts[@]}" --workers 1 --threads 1 --out "$out/xnas" "$@" \
  > "$out/xnas.json" 2> "$out/xnas.log" &
xnas_pid=$!
# Optuna reads the split xnas-search writes before its first trial.
for _ in $(seq 300); do
  [ -s "$out/xnas/split.json" ] && break
  kill -0 "$xnas_pid" 2> /dev/null || { echo "xnas-search stopped early: see $out/xnas.log" >&2; exit 1; }
  sleep 1
done
[ -s "$out/xnas/split.json" ] || { echo "no $out/xnas/split.json after 300 s" >&2; exit 1; }
/usr/bin/python3 "$here/optuna_torch_search.py" --split "$out/xnas/split.json" "${opts[@]}" \
  --workers 1 --threads 1 --trials-csv "$out/optuna-trials.csv" > "$out/optuna.json" 2> "$out/optuna.log"
wait "$xnas_pid"
cat "$out/xnas.json" "$out/optuna.json"
