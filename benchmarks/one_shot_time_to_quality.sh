#!/usr/bin/env bash
# One-shot against multi-trial search at equal wall-clock time, end to end: xnas-search
# --strategy spos (a single-path supernet, evolution over shared-weight scores, the best 5
# re-trained briefly from scratch) and --strategy tpe (each candidate trained) search the cell
# space side by side, one core each, on the same seed, and both retrain their winner the same
# way; the figure is each one's retrained test accuracy and its total time.
#   benchmarks/one_shot_time_to_quality.sh XNAS_SEARCH OUT SEED [TPE_MINUTES] [SUPERNET_EPOCHS]
# TPE's search gets TPE_MINUTES (13) and SPOS's supernet SUPERNET_EPOCHS (14) epochs of the
# whole training split, which on the reference machine put both near 20 minutes with the retrain
# (8 epochs of the 60,000 images); the totals are in each summary's "seconds".
# Writes OUT/{spos,tpe}/ (results folders), OUT/{spos,tpe}.json (summaries), OUT/*.log.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 XNAS_SEARCH OUT SEED [TPE_MINUTES] [SUPERNET_EPOCHS]" >&2
  exit 2
fi
xnas=$1 out=$2 seed=$3 tpe_minutes=${4:-13} supernet_epochs=${5:-14}
common=(--space cell --workers 1 --threads 1 --final-epochs 8 --seed "$seed")
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
