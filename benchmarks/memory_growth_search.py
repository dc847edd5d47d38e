#!/usr/bin/env python3
"""Resident memory of a long xnas-search run on Fashion-MNIST.

Runs xnas-search for --trials trials and reads the process's resident set (VmRSS of
/proc/PID/status) when its progress line reports trial --early and when it reports the last
trial, before the final selection and the retrain: the search itself should not grow beyond
the records it keeps. Extra arguments after -- go to xnas-search.

  python3 benchmarks/memory_growth_search.py --tool build/examples/xnas-search \\
      --trials 200 --early 100 -- --epochs 1 --train-subset 1000

Prints one JSON line: RSS in MiB at both points and the growth in percent.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True, help="the xnas-search executable")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--early", type=int, default=100)
    ap.add_argument("rest", nargs="*", help="more xnas-search options (after --)")
    a = ap.parse_args()
    if not 0 < a.early < a.trials:
        ap.error("--early must be in [1, --trials)")
    out = tempfile.mkdtemp(prefix="xnas-memory-growth-")
    cmd = [a.tool, "--trials", str(a.trials), "--out", os.path.join(out, "run")] + a.rest
    # xnas-search prints "trial K/N ..." on stderr when trial K is told.
    progress = re.compile(r"\btrial (\d+)/(\d+)\b")
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    at = {}
    for line in p.stderr:
        m = progress.search(line)
        if not m:
            continue
        k = int(m.group(1))
        if k in (a.early, a.trials) and k not in at:
            at[k] = rss_mib(p.pid)
        if k == a.trials:
            break
    p.kill()
    p.wait()
    shutil.rmtree(out, ignore_errors=True)
    if a.early not in at or a.trials not in at:
        sys.exit(f"memory_growth_search: saw trials {sorted(at)} of {a.early} and {a.trials}; "
                 f"command: {' '.join(cmd)}")
    growth = 100.0 * (at[a.trials] / at[a.early] - 1.0)
    print(json.dumps({"trials": a.trials, "early": a.early, "early_mib": round(at[a.early], 2),
                      "end_mib": round(at[a.trials], 2), "growth_percent": round(growth, 2),
                      "args": a.rest}))


if __name__ == "__main__":
    main()
