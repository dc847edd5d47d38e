#!/usr/bin/env python3
"""Runs xnas-search with its results folder on a small tmpfs that fills up, twice: once during
the search, once during the writing of the results. Each time the tool must stop with exit
status 1 and a message that names the file it could not write (no crash, no hang), leave a
journal whose every line is a whole record and no half-written results file, and, once there
is space again (the filler file deleted; the tmpfs remounted bigger), finish with --resume on
the uninterrupted run's result (as kill_resume.py compares it). Needs root to mount the tmpfs:
where mounting is not permitted it prints why and exits with status 77 (ctest's
SKIP_RETURN_CODE). Linux only; Python's standard library only.

    full_disk.py --search PATH --out DIR [-- xnas-search options]

Prints one JSON line: for each scenario, the file named, the exit status, the trials journaled
when the disk filled and at the end.
"""
import argparse
import errno
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kill_resume import (DEFAULT_OPTIONS, Failure, Run, check_folder, final_state,  # noqa: E402
                         journal_lines, run_to_end)

SKIP = 77
# Room for the run's files (split.json is 350 kB, the model some 30 kB) and little more.
SIZE = "2m"
PAGE = os.sysconf("SC_PAGE_SIZE")
# kill_resume.py's run with eight trials: the journal of six ends before its first page does.
OPTIONS = [v if DEFAULT_OPTIONS[i - 1] != "--trials" else "8" for i, v in enumerate(DEFAULT_OPTIONS)]


def fill(directory):
    """Writes a filler file until the disk is full; returns its path."""
    path = os.path.join(directory, "filler")
    with open(path, "wb", buffering=0) as f:
        chunk = b"\0" * 4096
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
    return path


def results_in_journal(out):
    records, torn = journal_lines(os.path.join(out, "journal.jsonl"))
    if torn:
        raise Failure(f"{out}/journal.jsonl: a torn last record after the disk filled")
    return sum(r.get("event") == "result" for r in records)


def fill_during(command, out, env, when):
    """Runs the tool, fills the disk once `when(run)` holds; returns the exit status, the log
    and the results journaled."""
    run = Run(command, out, env)
    filler = None
    deadline = time.monotonic() + 300
    while run.proc.poll() is None and time.monotonic() < deadline:
        events = run.poll(0.05)
        if filler is None and when(run, events):
            filler = fill(out)
    if run.proc.poll() is None:
        run.kill()
        raise Failure(f"{' '.join(command)} did not end within 300 s after the disk filled")
    while run.poll(0):
        pass
    rc, _ = run.finish()
    if filler is None:
        raise Failure("the run ended before the disk could be filled")
    return rc, run.log.decode(errors="replace"), filler


def expect_clean_failure(rc, log, out, scenario):
    if rc != 1:
        raise Failure(f"{scenario}: exit status {rc} on a full disk, expected 1:\n{log}")
    errors = [line for line in log.splitlines() if line.startswith("xnas-search: ")]
    if not errors or "No space left on device" not in errors[-1] or out not in errors[-1]:
        raise Failure(f"{scenario}: no error naming a file in {out} and the full disk:\n{log}")
    message = errors[-1]
    leftover = check_folder(out)
    if leftover:
        raise Failure(f"{scenario}: temporary files left on the full disk: {leftover}")
    return message


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--search", required=True, help="the xnas-search executable")
    ap.add_argument("--out", required=True, help="scratch directory (emptied first)")
    ap.add_argument("options", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    options = args.options[1:] if args.options[:1] == ["--"] else args.options
    options = options or OPTIONS
    started = time.monotonic()
    shutil.rmtree(args.out, ignore_errors=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    disk = os.path.join(args.out, "disk")
    os.makedirs(disk)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "xnas-full-disk", disk],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        print(f"full_disk.py: skipped: cannot mount a tmpfs on {disk} "
              f"({(mounted.stderr or mounted.stdout).strip()}); run as root where mount is "
              "permitted", file=sys.stderr)
        shutil.rmtree(args.out, ignore_errors=True)
        return SKIP
    figures = {}
    try:
        reference_dir = os.path.join(args.out, "reference")
        os.makedirs(reference_dir)
        run_to_end([args.search, *options, "--out", reference_dir], reference_dir, env)
        reference = final_state(reference_dir)
        trials = sum(r["event"] == "result" for r in reference["journal"])

        # 1. The disk fills during the search, after the second result, once the journal's
        # next record will need a new page (a tmpfs gives space by the page: a record that fits
        # in the last page finds room on a full disk); the filler is then deleted.
        out = os.path.join(disk, "search")
        os.makedirs(out)
        command = [args.search, *options, "--out", out, "--resume"]
        journal = os.path.join(out, "journal.jsonl")
        rc, log, filler = fill_during(command, out, env,
                                      lambda run, _: "journal" in run.marks and
                                      results_in_journal(out) >= 2 and
                                      os.path.getsize(journal) % PAGE > PAGE - 700)
        message = expect_clean_failure(rc, log, out, "full during the search")
        at_failure = results_in_journal(out)
        os.remove(filler)
        run_to_end(command, out, env)
        if final_state(out) != reference:
            raise Failure(f"{out}: the resumed run's result differs from the uninterrupted run's")
        figures["search"] = {"message": message, "exit": rc, "trials_journaled": at_failure,
                             "trials_after_resume": trials}
        shutil.rmtree(out)

        # 2. The disk fills during the retrain, so that the retrained model is the first file
        # that finds no space; then the tmpfs is remounted bigger.
        out = os.path.join(disk, "results")
        os.makedirs(out)
        command = [args.search, *options, "--out", out, "--resume"]
        rc, log, filler = fill_during(command, out, env, lambda run, _: "retrain" in run.marks)
        message = expect_clean_failure(rc, log, out, "full while writing the results")
        at_failure = results_in_journal(out)
        subprocess.run(["mount", "-o", "remount,size=8m", disk], check=True)
        run_to_end(command, out, env)
        if final_state(out) != reference:
            raise Failure(f"{out}: the resumed run's result differs from the uninterrupted run's")
        figures["results"] = {"message": message, "exit": rc, "trials_journaled": at_failure,
                              "trials_after_resume": trials}
    except Failure as e:
        print(f"full_disk.py: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        subprocess.run(["umount", disk], check=False)
    figures["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(figures))
    shutil.rmtree(args.out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
