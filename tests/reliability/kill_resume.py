#!/usr/bin/env python3
"""Kills xnas-search with SIGKILL at seeded random moments of every phase of a small run, resumes
it with --resume each time, and checks that nothing a kill can reach is lost or damaged:

  * after every kill, each results file that exists (trials.csv, pareto.csv, best.json,
    report.html, best_model.xnas, options.json, split.json) is whole and parses, the journal's
    lines all parse but at most a torn last one, and no trial id is recorded twice;
  * every trial result journaled before a kill is still there, unchanged, after the resumes;
  * each run, resumed until it finishes, ends with the uninterrupted run's result: best.json,
    best_model.xnas byte for byte, trials.csv, pareto.csv and the journal's ask and result
    records, clock fields (elapsed, cost, train_seconds, latency_ms) aside; and no temporary
    file is left in the results folder.

The phases are the run's own: startup (data, journal replay), a trial, the journal's fsync,
the writing of trials.csv and pareto.csv, the final selection, the retrain (and test
evaluation), and the writing of best_model.xnas, best.json and report.html. Kills are planned
per run, one per phase in the order the run reaches them (a random subset when fewer kills are
left than phases), so every phase is hit; the moment within a phase is drawn from the seed. The
script watches the tool's progress lines and the results folder (inotify), stops the tool
(SIGSTOP) when the moment comes, records the phase it actually stopped in (a write is only
counted when its temporary file exists at the stop, the journal's fsync only when the kernel
shows the process inside fsync), then kills it with SIGKILL. Linux only; Python's standard
library only.

    kill_resume.py --search PATH --out DIR [--kills 5] [--seed 1] [-- xnas-search options]

Prints one JSON line of figures (kills per phase, runs, trials lost and repeated, seconds).
Exit status 0 when every check passed, 1 with the first failure otherwise.
"""
import argparse
import csv
import ctypes
import hashlib
import json
import os
import random
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib

CLOCK_FIELDS = {"elapsed", "cost", "train_seconds", "latency_ms"}
# A small run of about 15 s on two cores: six one-epoch trials on 400 images, a final selection
# of two, a retrain on 400 images. One worker and one BLAS thread, so its result is one.
DEFAULT_OPTIONS = ["--space", "chain", "--strategy", "evolution", "--trials", "6", "--epochs", "1",
                   "--train-subset", "400", "--final-epochs", "1", "--final-limit", "400",
                   "--select", "2", "--select-subset", "400", "--workers", "1", "--threads", "1",
                   "--seed", "7", "--max-mflops", "25", "--validation-fraction", "0.02"]
PHASES = ["startup", "trial", "journal fsync", "writing trials.csv/pareto.csv", "final selection",
          "retrain", "writing best_model.xnas", "writing best.json", "writing report.html"]
WRITTEN = {"trials.csv": "writing trials.csv/pareto.csv", "pareto.csv": "writing trials.csv/pareto.csv",
           "best_model.xnas": "writing best_model.xnas", "best.json": "writing best.json",
           "report.html": "writing report.html", "options.json": "startup",
           "command.toml": "startup", "split.json": "startup"}
TEMPORARY = re.compile(r"^(.+)\.tmp[0-9]+$")
REMOVED = b", a temporary file of a run that was killed while writing it"
FSYNC_SYSCALLS = {"74", "75"}  # x86-64 fsync, fdatasync

IN_MODIFY, IN_MOVED_TO, IN_CREATE = 0x2, 0x80, 0x100


class Failure(Exception):
    pass


class Inotify:
    """Events on the files of one directory, through libc (the standard library has no inotify)."""

    def __init__(self, directory):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, os.fsencode(directory),
                                                 IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), f"inotify on {directory}")

    def events(self):
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return []
        out, i = [], 0
        while i < len(data):
            _, mask, _, length = struct.unpack_from("iIII", data, i)
            out.append((mask, data[i + 16:i + 16 + length].rstrip(b"\0").decode()))
            i += 16 + length
        return out

    def close(self):
        os.close(self.fd)


def in_fsync(pid):
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                if f.read().split(" ", 1)[0] in FSYNC_SYSCALLS:
                    return True
    except OSError:
        pass
    return False


def journal_lines(path):
    """The journal's records and whether its last line is torn (no newline, no parse)."""
    if not os.path.exists(path):
        return [], False
    with open(path, "rb") as f:
        text = f.read()
    records, torn = [], False
    lines = text.split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        last = number == len(lines)  # no newline after it
        try:
            records.append(json.loads(line))
        except ValueError:
            if not last:
                raise Failure(f"{path}:{number}: a record that does not parse is not the last line")
            torn = True
    return records, torn


def without_clock(record):
    record = {k: v for k, v in record.items() if k not in CLOCK_FIELDS}
    for group in ("metrics", "objectives"):
        if isinstance(record.get(group), dict):
            record[group] = {k: v for k, v in record[group].items() if k not in CLOCK_FIELDS}
    return record


def csv_table(path):
    with open(path, newline="") as f:
        text = f.read()
    if not text.endswith("\n"):
        raise Failure(f"{path}: does not end with a newline")
    rows = list(csv.reader(text.splitlines()))
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise Failure(f"{path}: rows of unequal length")
    keep = [i for i, name in enumerate(rows[0]) if name not in CLOCK_FIELDS]
    return [[r[i] for i in keep] for r in rows]


def check_model(path):
    with open(path, "rb") as f:
        data = f.read()
    newline = data.find(b"\n")
    if newline < 0:
        raise Failure(f"{path}: no header line")
    header = json.loads(data[:newline])
    payload = data[newline + 1:]
    if len(payload) != header["payload_bytes"]:
        raise Failure(f"{path}: payload of {len(payload)} bytes, header says {header['payload_bytes']}")
    if f"{zlib.crc32(payload):08x}" != header["payload_crc32"]:
        raise Failure(f"{path}: payload checksum mismatch")
    return hashlib.sha256(data).hexdigest()


def check_folder(out):
    """Every results file that exists is whole; returns the temporary files found."""
    names = os.listdir(out)
    try:
        for name in ("options.json", "split.json", "best.json"):
            if name in names:
                with open(os.path.join(out, name)) as f:
                    json.load(f)
        for name in ("trials.csv", "pareto.csv"):
            if name in names:
                csv_table(os.path.join(out, name))
        if "report.html" in names:
            with open(os.path.join(out, "report.html")) as f:
                if not f.read().rstrip().endswith("</html>"):
                    raise Failure(f"{out}/report.html: does not end with </html>")
        if "best_model.xnas" in names:
            check_model(os.path.join(out, "best_model.xnas"))
    except (ValueError, KeyError) as e:
        raise Failure(f"{out}: a results file does not parse: {e}")
    temporaries = [n for n in names if TEMPORARY.match(n)]
    for n in names:
        if n not in temporaries and ".tmp" in n:
            raise Failure(f"{out}/{n}: a temporary file under a name the next run will not remove")
    return temporaries


def trial_records(out):
    """The journal's ask and result records, clock fields aside; fails on a repeated trial id."""
    records, torn = journal_lines(os.path.join(out, "journal.jsonl"))
    trials = [without_clock(r) for r in records if r.get("event") in ("ask", "result")]
    for event in ("ask", "result"):
        ids = [r["id"] for r in trials if r["event"] == event]
        if len(ids) != len(set(ids)):
            raise Failure(f"{out}/journal.jsonl: a trial's {event} record is repeated: {sorted(ids)}")
    return trials, torn


def final_state(out):
    with open(os.path.join(out, "best.json")) as f:
        best = json.load(f)
    best.pop("latency_ms", None)
    return {"best.json": best,
            "best_model.xnas": check_model(os.path.join(out, "best_model.xnas")),
            "trials.csv": csv_table(os.path.join(out, "trials.csv")),
            "pareto.csv": csv_table(os.path.join(out, "pareto.csv")),
            "journal": trial_records(out)[0]}


class Run:
    """One xnas-search process, watched: its progress lines and its folder's file events."""

    def __init__(self, command, out, env):
        self.watch = Inotify(out)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env)
        os.set_blocking(self.proc.stderr.fileno(), False)
        self.log = b""
        self.marks = {}  # first time of: journal, selection, retrain, model, end

    def _mark(self, name):
        self.marks.setdefault(name, time.monotonic() - self.started)

    def poll(self, timeout):
        """Waits up to `timeout` s for output or a file event; returns the file events."""
        ready, _, _ = select.select([self.watch.fd, self.proc.stderr.fileno()], [], [],
                                    max(timeout, 0))
        if self.proc.stderr.fileno() in ready:
            chunk = self.proc.stderr.read() or b""
            self.log += chunk
            if b"final selection:" in self.log:
                self._mark("selection")
            if b"retraining the best" in self.log:
                self._mark("retrain")
        events = self.watch.events() if self.watch.fd in ready else []
        for mask, name in events:
            if name == "journal.jsonl" and mask & IN_MODIFY:
                self._mark("journal")
            if name.startswith("best_model.xnas.tmp") and mask & IN_CREATE:
                self._mark("model")
        return events

    def finish(self):
        out, err = self.proc.communicate()
        self.log += err
        self.watch.close()
        return self.proc.returncode, out

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        return self.finish()


def run_to_end(command, out, env):
    """Runs the tool to its end; returns its marks and seconds. Fails on a non-zero exit."""
    run = Run(command, out, env)
    while run.proc.poll() is None:
        run.poll(0.2)
    while run.poll(0):
        pass
    rc, _ = run.finish()
    if rc != 0:
        raise Failure(f"{' '.join(command)} exited with {rc}:\n{run.log.decode(errors='replace')}")
    run.marks["end"] = time.monotonic() - run.started
    return run


def kill_once(command, out, env, target, rng, spans, remaining):
    """Runs the tool and kills it in `target` at a moment drawn from `rng`; returns the phase it
    was stopped in (None when it finished first) and the run."""
    run = Run(command, out, env)
    deadline = None
    if target == "startup":
        deadline = rng.uniform(0, spans["startup"])
    fsync_seen = False
    while True:
        now = time.monotonic() - run.started
        events = run.poll(0.05 if deadline is None else deadline - now)
        if run.proc.poll() is not None:
            while run.poll(0):
                pass
            rc, _ = run.finish()
            if rc != 0:
                raise Failure(f"the run exited with {rc} before its kill:\n"
                              f"{run.log.decode(errors='replace')}")
            return None, run
        now = time.monotonic() - run.started
        if deadline is None:
            if target == "trial" and "journal" in run.marks:
                deadline = now + rng.uniform(0, spans["search"] * remaining)
            elif target == "final selection" and "selection" in run.marks:
                deadline = now + rng.uniform(0, spans["selection"])
            elif target == "retrain" and "retrain" in run.marks:
                deadline = now + rng.uniform(0, spans["retrain"])
            elif target == "journal fsync" and any(
                    n == "journal.jsonl" and m & IN_MODIFY for m, n in events):
                # The append's write has happened; its fsync takes milliseconds on a disk.
                until = time.monotonic() + 0.05
                while time.monotonic() < until and not fsync_seen:
                    fsync_seen = in_fsync(run.proc.pid)
                if fsync_seen:
                    deadline = now
            elif target.startswith("writing "):
                prefixes = [f + ".tmp" for f, p in WRITTEN.items() if p == target]
                if any(m & IN_CREATE and n.startswith(tuple(prefixes)) for m, n in events):
                    deadline = now
        if deadline is not None and time.monotonic() - run.started >= deadline:
            break
    if fsync_seen:
        run.kill()
        return "journal fsync", run
    os.kill(run.proc.pid, signal.SIGSTOP)
    phase = None
    for name in os.listdir(out):
        m = TEMPORARY.match(name)
        if m and m.group(1) in WRITTEN:
            phase = WRITTEN[m.group(1)]
    if phase is None:
        while run.poll(0):
            pass
        if "retrain" in run.marks:
            phase = "retrain"
        elif "selection" in run.marks:
            phase = "final selection"
        else:
            records, _ = journal_lines(os.path.join(out, "journal.jsonl"))
            asked = sum(r.get("event") == "ask" for r in records)
            told = sum(r.get("event") == "result" for r in records)
            phase = "trial" if asked > told else "startup"
    run.kill()
    return phase, run


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--search", required=True, help="the xnas-search executable")
    ap.add_argument("--out", required=True, help="scratch directory (emptied first)")
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("options", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    options = args.options[1:] if args.options[:1] == ["--"] else args.options
    options = options or DEFAULT_OPTIONS
    started = time.monotonic()
    rng = random.Random(args.seed)
    shutil.rmtree(args.out, ignore_errors=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")

    reference_dir = os.path.join(args.out, "reference")
    os.makedirs(reference_dir)
    ref = run_to_end([args.search, *options, "--out", reference_dir], reference_dir, env)
    m = ref.marks
    spans = {"startup": m["journal"], "search": m["selection"] - m["journal"],
             "selection": m["retrain"] - m["selection"], "retrain": m["model"] - m["retrain"]}
    reference = final_state(reference_dir)
    trials = sum(r["event"] == "result" for r in reference["journal"])

    hits = {p: 0 for p in PHASES}
    aimed = {p: 0 for p in PHASES}
    kills, runs, attempts, removed = 0, 0, 0, 0
    try:
        while kills < args.kills:
            runs += 1
            out = os.path.join(args.out, f"run{runs}")
            os.makedirs(out)
            command = [args.search, *options, "--out", out, "--resume"]
            left = args.kills - kills
            plan = PHASES if left >= len(PHASES) else sorted(rng.sample(PHASES, left),
                                                             key=PHASES.index)
            seen = {}  # trial id -> result record, clock fields aside
            for target in plan:
                trials_done = sum(r["event"] == "result" for r in trial_records(out)[0])
                if target == "trial" and trials_done >= trials:
                    continue  # an earlier kill's moment fell past the search
                attempts += 1
                aimed[target] += 1
                phase, run = kill_once(command, out, env, target, rng, spans,
                                       (trials - trials_done) / trials)
                removed += run.log.count(REMOVED)
                if phase is None:
                    break
                kills += 1
                hits[phase] += 1
                check_folder(out)
                records, _ = trial_records(out)
                for r in records:
                    if r["event"] == "result":
                        seen.setdefault(r["id"], r)
            final = run_to_end(command, out, env)
            removed += final.log.count(REMOVED)
            leftover = check_folder(out)
            if leftover:
                raise Failure(f"{out}: temporary files left after the run finished: {leftover}")
            state = final_state(out)
            for name, value in reference.items():
                if state[name] != value:
                    raise Failure(f"{out}: {name} differs from the uninterrupted run's "
                                  f"({reference_dir})")
            final_results = {r["id"]: r for r in state["journal"] if r["event"] == "result"}
            for i, r in seen.items():
                if final_results.get(i) != r:
                    raise Failure(f"{out}: trial {i}'s result, journaled before a kill, is "
                                  f"lost or changed")
            shutil.rmtree(out)
    except Failure as e:
        print(f"kill_resume.py: FAILED: {e}", file=sys.stderr)
        print(json.dumps({"kills": kills, "kills_by_phase": hits}), file=sys.stderr)
        return 1
    print(json.dumps({"kills": kills, "kills_by_phase": hits, "aimed_by_phase": aimed,
                      "runs": runs, "trials_per_run": trials, "results_equal": runs,
                      "trials_lost": 0, "trials_repeated": 0,
                      "temporary_files_removed_on_resume": removed,
                      "reference_seconds": round(ref.marks["end"], 1),
                      "seconds": round(time.monotonic() - started, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
