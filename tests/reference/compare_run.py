"""Runs xnas-search with a small fixed budget and compares its journal.jsonl and trials.csv with
a stored reference, record by record, leaving out what depends on the clock (elapsed, cost,
train_seconds, latency_ms). Same seed, one worker: any other difference is a change of
behaviour, and the first one is printed.

    compare_run.py --search PATH --reference DIR --out DIR [--update] -- OPTIONS...

--update writes the run's files as the new reference (for a change that is meant to alter the
trials, such as a kernel with another summation order; the commit says why).
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys

CLOCK_FIELDS = {"elapsed", "cost", "train_seconds", "latency_ms"}


def journal_records(path):
    records = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            record = json.loads(line)
            for key in CLOCK_FIELDS:
                record.pop(key, None)
            for group in ("metrics", "objectives"):
                if isinstance(record.get(group), dict):
                    for key in CLOCK_FIELDS:
                        record[group].pop(key, None)
            records.append((number, record))
    return records


def csv_rows(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    keep = [i for i, name in enumerate(header) if name not in CLOCK_FIELDS]
    return [(number, [row[i] for i in keep if i < len(row)]) for number, row in enumerate(rows, 1)]


def first_difference(name, ours, reference):
    for (number, a), (_, b) in zip(ours, reference):
        if a != b:
            return f"{name}:{number}: run has\n  {a}\nreference has\n  {b}"
    if len(ours) != len(reference):
        return f"{name}: run has {len(ours)} lines, reference {len(reference)}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--search", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--update", action="store_true")
    ap.add_argument("options", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    options = args.options[1:] if args.options[:1] == ["--"] else args.options
    shutil.rmtree(args.out, ignore_errors=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    subprocess.run([args.search, *options, "--out", args.out], check=True, env=env)
    files = ("journal.jsonl", "trials.csv")
    if args.update:
        os.makedirs(args.reference, exist_ok=True)
        for f in files:
            shutil.copyfile(os.path.join(args.out, f), os.path.join(args.reference, f))
        print(f"reference updated in {args.reference}")
        return 0
    failures = [
        first_difference("journal.jsonl", journal_records(os.path.join(args.out, "journal.jsonl")),
                         journal_records(os.path.join(args.reference, "journal.jsonl"))),
        first_difference("trials.csv", csv_rows(os.path.join(args.out, "trials.csv")),
                         csv_rows(os.path.join(args.reference, "trials.csv"))),
    ]
    failures = [f for f in failures if f]
    for f in failures:
        print(f"differs from the reference: {f}", file=sys.stderr)
    if failures:
        return 1
    print("journal.jsonl and trials.csv equal the reference (clock fields aside)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
