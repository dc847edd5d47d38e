#!/usr/bin/env bash
# One-shot against multi-trial search at equal wall-clock time, end to end: xnas-search
# --strategy spos (a single-path supernet, evolution over shared-weight scores, the best 5
# re-trained briefly from scratch) and --strategy tpe (each candidate trained) search the cell
# space side by side, one core each, on the same seed, and both retrain their winner the same
# way; the figure is each one's retrained test accuracy and its total time.
#   benchmarks/one_shot_time_to_quality.sh XNAS_SEARCH OUT SEED [TPE_MINUTES] [SUPERNET_EPOCHS]
#       [FINAL_EPOCHS] [TIME_LIMIT]
# TPE's search gets TPE_MINUTES (11) and SPOS's supernet SUPERNET_EPOCHS (12) epochs of the
# whole training split; both retrain their winner for FINAL_EPOCHS (6) epochs of the 60,000
# images, or as much of them as fits in what is left of TIME_LIMIT minutes (20) for the whole
# run (--time-limit; 0: no limit). The defaults put both near 20 minutes end to end on a 2-vCPU
# Zen 5 machine (docs/results.md); the totals are in each summary's "seconds", and the share of
# the retrain's epochs that fitted in each log's "--time-limit:" lines.
# Writes OUT/{spos,tpe}/ (results folders), OUT/{spos,tpe}.json (summaries), OUT/*.log.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 XNAS_SEARCH OUT SEED [TPE_MINUTES] [SUPERNET_EPOCHS] [FINAL_EPOCHS]" \
    "[TIME_LIMIT]" >&2
  exit 2
fi
xnas=$1 out=$2 seed=$3 tpe_minutes=${4:-11} supernet_epochs=${5:-12} final_epochs=${6:-6}
time_limit=${7:-20}
common=(--space cell --workers 1 --threads 1 --final-epochs "$final_epochs" --seed "$seed")
if [ "$time_limit" != 0 ]; then
  common+=(--time-limit "$time_limit")
fi
mkdir -p "$out"
rm -rf "$out/spos" "$out/tpe"
"$xnas" "${common[@]}" --strategy spos --supernet-epochs "$supernet_epochs" --train-subset 0 \
  --trials 100 --select 5 --select-epochs 2 --select-subset 10000 --out "$out/spos" \
  > "$out/spos.json" 2> "$out/spos.log" &
spos=$!
"$xnas" "${common[@]}" --strategy tpe --minutes "$tpe_minutes" --out "$out/tpe" \
  > "$out/tpe.json" 2> "$out/tpe.log" &
tpe=$!
wait "$spos" "$tpe"
cat "$out/spos.json" "$out/tpe.json"
