#!/usr/bin/env python3
"""Tabulates races of race_optuna.sh: one row per side and race, then per criterion the mean over
the races and the number of races each side won.

    benchmarks/race_summary.py runs/race-s5 runs/race-s6 ...

One race is one sample (see benchmarks/README.md), so a verdict takes several seeds. Trials are
trained trials: Optuna's pruned ones are over-budget candidates rejected untrained. "search val"
is each search's best validation accuracy; "winner val" the search accuracy of the network each
side retrained (with xnas-search's --select it need not be its search's best; Optuna retrains
its best).
"""
import json
import os
import sys

CRITERIA = ("trials", "search val", "winner val", "test")


def first_json_line(path):
    with open(path) as f:
        for line in f:
            if line.strip().startswith("{"):
                return json.loads(line)
    raise ValueError(f"{path}: no JSON summary line")


def race(directory):
    x = first_json_line(os.path.join(directory, "xnas.json"))
    o = first_json_line(os.path.join(directory, "optuna.json"))
    xnas = (x["trials"] - x.get("failed", 0), x.get("search_best_val_accuracy", x["val_accuracy"]),
            x["val_accuracy"], x["test_accuracy"], x["params"])
    optuna = (o["trials_trained"], o["val_accuracy"], o["val_accuracy"], o["test_accuracy"],
              o["params"])
    return xnas, optuna


def main(directories):
    if not directories:
        sys.exit(__doc__)
    races = []
    print("| race | side | trials | search val | winner val | test | params |")
    print("|---|---|---|---|---|---|---|")
    for d in directories:
        try:
            xnas, optuna = race(d)
        except (OSError, ValueError, KeyError) as e:
            print(f"{d}: skipped ({e})", file=sys.stderr)
            continue
        races.append((xnas, optuna))
        name = os.path.basename(os.path.normpath(d))
        for side, r in (("xnas", xnas), ("Optuna", optuna)):
            print(f"| {name} | {side} | {r[0]} | {r[1]:.4f} | {r[2]:.4f} | {r[3]:.4f} | "
                  f"{int(r[4]):,} |")
    if not races:
        sys.exit("no finished race")
    print(f"\nover {len(races)} races: mean xnas / Optuna, races won by xnas / Optuna")
    for i, criterion in enumerate(CRITERIA):
        mx = sum(x[i] for x, _ in races) / len(races)
        mo = sum(o[i] for _, o in races) / len(races)
        won = sum(x[i] > o[i] for x, o in races)
        lost = sum(x[i] < o[i] for x, o in races)
        digits = 0 if i == 0 else 4
        print(f"  {criterion:<11} {mx:.{digits}f} / {mo:.{digits}f}   {won} / {lost}")


if __name__ == "__main__":
    main(sys.argv[1:])
