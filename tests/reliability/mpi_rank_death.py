#!/usr/bin/env python3
"""Kills a worker rank of `mpiexec -n 3 xnas-search-mpi` with SIGKILL during the search and
checks that the job ends (within a minute, no hang) with a non-zero status and a message from
rank 0 that names the dead rank, its pid, and the trial it was training (one the journal asked
and has no result for); that the journal is whole; and that `--resume` on three ranks then
finishes with the uninterrupted run's result (as kill_resume.py compares it), every result
journaled before the kill kept. The moment is drawn from the seed: after a random number of
journaled results, a random fraction of a second. Linux only; Python's standard library only.

    mpi_rank_death.py --search-mpi PATH --mpiexec PATH --out DIR [--seed 1] [-- options]

Prints one JSON line: the rank killed, the trial it had, rank 0's message, the exit status, the
seconds from the kill to the job's end, and the trials after the resume.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kill_resume import DEFAULT_OPTIONS, Failure, check_folder, final_state, trial_records  # noqa: E402

# Open MPI refuses root unless told, and more ranks than cores.
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OPENBLAS_NUM_THREADS": "1"}
# Three ranks: rank 0 searches, ranks 1 and 2 train; --workers is theirs to decide.
OPTIONS = [v for i, v in enumerate(DEFAULT_OPTIONS)
           if v not in ("--workers",) and DEFAULT_OPTIONS[i - 1] != "--workers"]
MESSAGE = re.compile(r"xnas::mpi: rank (\d+) \(pid (\d+) on [^)]*\) died "
                     r"(?:while training trial (\d+)|between trials)[^\n]*")


def rank_pid(mpiexec_pid, rank):
    """The pid of the given rank among mpiexec's children (Open MPI tells each its rank)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            if parent != mpiexec_pid:
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if f"OMPI_COMM_WORLD_RANK={rank}".encode() in f.read().split(b"\0"):
                    return int(entry)
        except (OSError, IndexError, ValueError):
            continue
    return None


def results(out):
    return [r for r in trial_records(out)[0] if r["event"] == "result"]


def run_mpi(command, env, what):
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise Failure(f"{what} exited with {done.returncode}:\n{done.stderr}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--search-mpi", required=True, help="the xnas-search-mpi executable")
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--out", required=True, help="scratch directory (emptied first)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("options", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    options = args.options[1:] if args.options[:1] == ["--"] else args.options
    options = options or OPTIONS
    rng = random.Random(args.seed)
    shutil.rmtree(args.out, ignore_errors=True)
    env = dict(os.environ, **MPI_ENV)
    launch = [args.mpiexec, "-n", "3", args.search_mpi, *options]
    try:
        reference_dir = os.path.join(args.out, "reference")
        run_mpi([*launch, "--out", reference_dir], env, "the uninterrupted run")
        reference = final_state(reference_dir)
        trials = sum(r["event"] == "result" for r in reference["journal"])

        out = os.path.join(args.out, "killed")
        # Right after a result is journaled rank 0 has handed the freed rank its next trial, so
        # while two or more trials are in flight (at most trials - 3 results, four asked ahead)
        # both worker ranks are training.
        after = rng.randint(1, max(1, trials - 3))
        delay = rng.uniform(0, 0.2)
        job = subprocess.Popen([*launch, "--out", out], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True)
        victim = None
        deadline = time.monotonic() + 300
        while victim is None and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
            if os.path.exists(os.path.join(out, "journal.jsonl")) and len(results(out)) >= after:
                time.sleep(delay)
                victim = rank_pid(job.pid, 2)
        records = trial_records(out)[0] if victim is not None else []
        in_flight = (sum(r["event"] == "ask" for r in records) -
                     sum(r["event"] == "result" for r in records))
        if victim is None or in_flight == 0:
            os.killpg(job.pid, signal.SIGKILL)
            job.communicate()
            raise Failure("the search ended or stalled before rank 2 could be killed mid-search")
        before = {r["id"]: r for r in results(out)}
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        try:
            _, log = job.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(job.pid, signal.SIGKILL)
            job.communicate()
            raise Failure("the job still runs a minute after rank 2 died: it hangs")
        ended_after = time.monotonic() - killed_at
        if job.returncode == 0:
            raise Failure(f"the job exited with status 0 after rank 2 died:\n{log}")
        found = MESSAGE.search(log)
        if not found or found.group(1) != "2" or int(found.group(2)) != victim:
            raise Failure(f"no message naming rank 2 (pid {victim}) as dead:\n{log}")
        records, torn = trial_records(out)
        if torn:
            raise Failure(f"{out}/journal.jsonl: a torn last record")
        check_folder(out)
        trial = found.group(3)
        if trial is not None:
            asked = {r["id"] for r in records if r["event"] == "ask"}
            told = {r["id"] for r in records if r["event"] == "result"}
            if int(trial) not in asked - told:
                raise Failure(f"the message names trial {trial}, which is not in flight in "
                              f"{out}/journal.jsonl")

        run_mpi([*launch, "--out", out, "--resume"], env, "the resumed run")
        state = final_state(out)
        for name, value in reference.items():
            if state[name] != value:
                raise Failure(f"{out}: {name} differs from the uninterrupted run's ({reference_dir})")
        final_results = {r["id"]: r for r in state["journal"] if r["event"] == "result"}
        for i, r in before.items():
            if final_results.get(i) != r:
                raise Failure(f"{out}: trial {i}'s result, journaled before the kill, is lost")
    except Failure as e:
        print(f"mpi_rank_death.py: FAILED: {e}", file=sys.stderr)
        return 1
    print(json.dumps({"killed_rank": 2, "results_before_kill": len(before),
                      "trial": None if trial is None else int(trial), "message": found.group(0),
                      "exit": job.returncode, "seconds_to_end": round(ended_after, 1),
                      "trials_after_resume": trials, "results_equal": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
