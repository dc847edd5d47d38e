#!/usr/bin/python3
"""Per-trial cost, side by side: the same architectures trained as a search trial by xnas
(xnas-trial-bench, which calls the train_evaluator xnas-search uses) and by PyTorch (the same
networks, built by torch_builders.py), interleaved trial by trial in one run so that both see
the same machine load.

    /usr/bin/python3 benchmarks/compare_trials.py --bench build/benchmarks/xnas-trial-bench \\
        --sample 50 --space chain --seed 5 [--epochs 2 --train-subset 5000 --repeat 2 --threads 1]
    /usr/bin/python3 benchmarks/compare_trials.py --bench ... --archs FILE --space chain

--sample N has xnas-trial-bench draw N distinct architectures from the space as xnas-search
samples it by default (within --max-params 100000 and --max-mflops 25; the chain space's strings
carry the optimizer, learning rate and batch size a trial trains with), so nobody picks them;
--archs FILE takes xnas architecture strings of --space, one per line (e.g. from a race's
trials.csv).

Before anything is trained, each architecture's PyTorch network is checked against xnas's: the
same parameter count and forward FLOPs (by xnas's rules, over the twin's real shapes), xnas's
random weights (batch norms' statistics randomised too) load into it tensor by tensor with equal
shapes, it then computes xnas's logits for a fixed probe input (eval mode, within 1e-4 of the
largest), and after three steps of the trial's optimizer on the probe's three samples it computes
xnas's logits after the same steps (within 5e-2: rounding amplified at ReLU kinks stays below 2e-2
on either side; skipped for networks with dropout, whose masks differ). Any mismatch stops the run
with the list of mismatches. Each trial's answer is checked again.

Both sides train as a search trial does: build, initialise (PyTorch's default scheme, which is
xnas's trial scheme), train --epochs epochs on the first --train-subset images of xnas-search's
split for --seed (stratified 10% validation), normalised by that subset's mean and deviation,
reshuffled each epoch, batches in order with a smaller last one, the architecture's optimizer
(SGD with momentum 0.9, or Adam), constant learning rate and batch size (cell and rnn: SGD, 0.05,
64), no augmentation; then validation accuracy in eval mode and the inference-latency probe (18
single-image forward passes) xnas's trial measures. A trial is timed from building the network to
the end of the probe; both sides use --threads threads (xnas: each batch data-parallel on them, as xnas-search
--threads gives a trial; PyTorch: torch.set_num_threads, one inter-op thread). One process per side serves all
the trials; each side first trains the first architecture once, untimed, to warm up. Per
repeat the order alternates (xnas first, then PyTorch first), so slow drifts of the load cancel.

What differs and cannot be removed: the random streams (weights, shuffling and dropout masks are
drawn from xnas's generator on one side and PyTorch's on the other: the same distributions, not
the same numbers, so accuracies differ by the usual seed-to-seed spread); xnas's GELU uses a
polynomial erf within 2e-7 of the exact one PyTorch computes; float summation orders differ.

Prints one JSON line per trial, then per architecture the median seconds per side and the ratio
PyTorch / xnas (above 1: xnas is faster) with both sides' validation accuracy, then a summary:
the geometric mean of the ratios, the ratio of the summed seconds (what a search's trial count
follows), the minimum, and the five lowest ratios (where xnas is slowest against PyTorch), each
with its architecture. A trial that diverges on either side is listed
under "failed" and left out of the ratios; an architecture over the budgets stops the run before
any trial (a search would fail it untrained).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

from compare_torch import load_idx  # the IDX reader of the recipe benchmark


def torch_worker(args):
    """Serves trials: reads one architecture per line on stdin, answers one JSON line each."""
    import numpy as np
    import torch
    import torch_builders as tb

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    split = json.load(open(args.torch_worker))
    images = load_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255
    labels = load_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    images = (images - np.float32(split["mean"])) / np.float32(split["stddev"])
    train = np.array(split["train"])[:args.train_subset or None]
    val = np.array(split["val"])
    x = torch.from_numpy(images).reshape(-1, *tb.input_shape(args.space))
    y = torch.from_numpy(labels)
    xtr, ytr, xva, yva = x[train].contiguous(), y[train], x[val].contiguous(), y[val]
    ids = {}
    for line in sys.stdin:
        arch = line.strip()
        if not arch:
            continue
        trial = ids.setdefault(arch, len(ids))  # a repeat trains the same weights, as xnas's
        torch.manual_seed(args.seed * 1000003 + trial)
        row = {"system": "pytorch", "arch": arch, "trial": trial}
        start = time.perf_counter()
        net, recipe = tb.build(args.space, arch)
        try:
            tb.train(net, recipe, args.epochs, xtr, ytr, args.seed * 1000003 + trial)
            acc = tb.accuracy(net, xva, yva)
            tb.latency_probe(net, args.space)
            seconds = time.perf_counter() - start
            row.update(status="ok", seconds=seconds, val_accuracy=acc, params=tb.parameters(net),
                       flops=tb.flops(net, args.space))
        except FloatingPointError as e:
            row.update(status="diverged", seconds=time.perf_counter() - start, message=str(e))
        print(json.dumps(row), flush=True)


class Worker:
    """A trial-serving process: one architecture in, one JSON line out."""

    def __init__(self, name, cmd, env):
        self.name = name
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def trial(self, arch):
        try:
            self.proc.stdin.write(arch + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            code = self.proc.wait()
            sys.exit(f"compare_trials: the {self.name} side exited ({code}) on {arch}; see its message above")
        row = json.loads(line)
        if row["arch"] != arch:
            sys.exit(f"compare_trials: the {self.name} side answered for {row['arch']}, asked {arch}")
        return row

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def run(cmd, stdin=None):
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"compare_trials: {' '.join(cmd[:4])} ... failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


# Differences relative to the largest logit. In eval mode the two sides agree to float rounding
# (within 1e-6 on 450 drawn architectures). Three training steps amplify rounding where a value
# sits at a ReLU's kink: PyTorch's own float32 and float64 results then differ by up to 1e-2, and
# xnas's likewise; an error of the network or its training (a missing momentum, a summed instead
# of averaged loss) moves them by far more.
EVAL_TOLERANCE, STEP_TOLERANCE = 1e-4, 5e-2


def compare_logits(what, ours, theirs, tolerance):
    import torch_builders as tb
    scale = max((abs(b) for b in theirs), default=0) + 1e-6
    worst = max((abs(a - b) for a, b in zip(ours, theirs)), default=0) / scale
    if len(ours) != len(theirs) or worst > tolerance:
        raise tb.ArchitectureError(f"{what} the probe's logits differ by {worst:.2g} of the largest "
                                   f"(tolerance {tolerance:g}): xnas {theirs[:3]}..., PyTorch {ours[:3]}...")


def check_twins(space, archs, described):
    """Stops the run unless every PyTorch twin has xnas's parameter and FLOP counts, takes xnas's
    random weights tensor by tensor, and then computes the logits xnas computes for the probe."""
    import torch_builders as tb
    counts, mismatches = {}, []
    for arch in archs:
        xnas = described[arch]
        counts[arch] = (xnas["params"], xnas["flops"])
        try:
            net, recipe = tb.build(space, arch)
            theirs = (tb.parameters(net), tb.flops(net, space))
            if theirs != counts[arch]:
                raise tb.ArchitectureError(f"xnas: {counts[arch][0]} parameters, {counts[arch][1]} FLOPs; "
                                           f"PyTorch: {theirs[0]} parameters, {theirs[1]} FLOPs")
            tb.load_xnas_weights(net, xnas["weights"])
            compare_logits("with xnas's weights", tb.probe_logits(net, space), xnas["probe_logits"], EVAL_TOLERANCE)
            # Dropout's masks come from each side's own generator: no step can match.
            if not tb.has_dropout(net) and xnas["probe_logits_after_steps"] is not None:
                compare_logits("after three training steps from xnas's weights",
                               tb.probe_logits_after_steps(net, recipe, space), xnas["probe_logits_after_steps"],
                               STEP_TOLERANCE)
        except tb.ArchitectureError as e:
            mismatches.append(f"  {arch}\n    {e}")
    if mismatches:
        sys.exit("compare_trials: the PyTorch networks differ from xnas's (no trial was timed):\n" +
                 "\n".join(mismatches))
    return counts


def geometric_mean(values):
    return math.exp(statistics.mean(map(math.log, values)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", help="path to xnas-trial-bench (required)")
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--sample", type=int, metavar="N",
                        help="draw N distinct architectures of --space (xnas-trial-bench --sample)")
    source.add_argument("--archs", metavar="FILE", help="file of architecture strings of --space, one per line")
    source.add_argument("--torch-worker", metavar="SPLIT", help=argparse.SUPPRESS)
    ap.add_argument("--space", choices=["chain", "cell", "rnn"], default="chain")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=2, help="epochs per trial (default: xnas-search's trial)")
    ap.add_argument("--train-subset", type=int, default=5000,
                    help="train on the first K images of the split (default: xnas-search's trial)")
    ap.add_argument("--seed", type=int, default=5, help="seed of the draw, the split and the trials")
    ap.add_argument("--repeat", type=int, default=2, help="timed trials per architecture and side")
    ap.add_argument("--threads", type=int, default=1, help="threads per trial on each side")
    ap.add_argument("--max-params", type=int, default=100000, help="budget of the draw and the trials (0: none)")
    ap.add_argument("--max-mflops", type=float, default=25, help="budget of the draw and the trials (0: none)")
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if args.torch_worker:
        torch_worker(args)
        return
    if not args.bench:
        ap.error("--bench (the path to xnas-trial-bench) is required")
    if args.sample is not None and args.sample < 1:
        ap.error("--sample needs N >= 1")

    bench = [args.bench, "--space", args.space, "--seed", str(args.seed),
             "--max-params", str(args.max_params), "--max-mflops", str(args.max_mflops)]
    if args.sample:
        archs = run(bench + ["--sample", str(args.sample)]).splitlines()
    else:
        archs = list(dict.fromkeys(line.strip() for line in open(args.archs) if line.strip()))
        if not archs:
            sys.exit(f"compare_trials: --archs {args.archs} holds no architecture")
    common = ["--epochs", str(args.epochs), "--train-subset", str(args.train_subset),
              "--threads", str(args.threads), "--data", args.data]
    with tempfile.TemporaryDirectory() as tmp:
        described = {}
        for line in run(bench + ["--describe", "--weights-dir", tmp], "\n".join(archs) + "\n").splitlines():
            row = json.loads(line)
            described[row["arch"]] = row
        over = [f"  {a}: {described[a]['params']} parameters, {described[a]['flops']} FLOPs" for a in archs
                if (args.max_params and described[a]["params"] > args.max_params)
                or (args.max_mflops and described[a]["flops"] > args.max_mflops * 1e6)]
        if over:
            sys.exit(f"compare_trials: over --max-params {args.max_params} or --max-mflops {args.max_mflops} "
                     "(a search would fail them untrained; 0 lifts a budget):\n" + "\n".join(over))
        counts = check_twins(args.space, archs, described)
        split = os.path.join(tmp, "split.json")
        run(bench + common + ["--split-out", split], "")  # the split alone: no architecture given
        threads = str(args.threads)
        env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        workers = {"xnas": Worker("xnas", bench + common, env),
                   "pytorch": Worker("pytorch", [sys.executable, os.path.abspath(__file__), "--torch-worker", split,
                                                 "--space", args.space, "--seed", str(args.seed)] + common, env)}
        for w in workers.values():
            w.trial(archs[0])  # warm-up, untimed
        rows = {a: {"xnas": [], "pytorch": []} for a in archs}
        for r in range(args.repeat):
            for i, arch in enumerate(archs):
                for name in (("xnas", "pytorch") if (i + r) % 2 == 0 else ("pytorch", "xnas")):
                    row = workers[name].trial(arch)
                    if row["status"] == "ok" and (row["params"], row["flops"]) != counts[arch]:
                        sys.exit(f"compare_trials: the {name} trial of {arch} trained "
                                 f"{row['params']} parameters, {row['flops']} FLOPs, not {counts[arch]}")
                    rows[arch][name].append(row)
                    print(json.dumps(row), flush=True)
        for w in workers.values():
            w.close()

    print("# per architecture (median seconds per trial over repeats)")
    results, failed = [], []
    for arch in archs:
        runs = rows[arch]
        bad = [f"{row['system']}: {row['status']}: {row.get('message', '')}"
               for side in runs.values() for row in side if row["status"] != "ok"]
        if bad:
            failed.append({"arch": arch, "failures": bad})
            continue
        x = statistics.median(row["seconds"] for row in runs["xnas"])
        t = statistics.median(row["seconds"] for row in runs["pytorch"])
        result = {"arch": arch, "xnas_seconds": round(x, 3), "pytorch_seconds": round(t, 3),
                  "ratio_pytorch_over_xnas": round(t / x, 3),
                  "xnas_val_accuracy": round(statistics.mean(row["val_accuracy"] for row in runs["xnas"]), 4),
                  "pytorch_val_accuracy": round(statistics.mean(row["val_accuracy"] for row in runs["pytorch"]), 4),
                  "params": counts[arch][0], "flops": counts[arch][1]}
        results.append(result)
        print(json.dumps(result))
    ranked = sorted(results, key=lambda r: r["ratio_pytorch_over_xnas"])
    summary = {"space": args.space, "threads": args.threads, "epochs": args.epochs,
               "train_subset": args.train_subset, "seed": args.seed, "repeat": args.repeat,
               "architectures": len(archs), "compared": len(results), "failed": failed}
    if results:
        ratios = [r["ratio_pytorch_over_xnas"] for r in results]
        summary.update(
            geometric_mean_ratio=round(geometric_mean(ratios), 3),
            # What a search's trial count follows: the seconds of all its trials, not their mean ratio.
            total_seconds={"xnas": round(sum(r["xnas_seconds"] for r in results), 1),
                           "pytorch": round(sum(r["pytorch_seconds"] for r in results), 1),
                           "ratio_pytorch_over_xnas": round(sum(r["pytorch_seconds"] for r in results) /
                                                            sum(r["xnas_seconds"] for r in results), 3)},
            minimum={"ratio": ranked[0]["ratio_pytorch_over_xnas"], "arch": ranked[0]["arch"]},
            slowest=[{"ratio": r["ratio_pytorch_over_xnas"], "arch": r["arch"]} for r in ranked[:5]],
            mean_val_accuracy={"xnas": round(statistics.mean(r["xnas_val_accuracy"] for r in results), 4),
                               "pytorch": round(statistics.mean(r["pytorch_val_accuracy"] for r in results), 4)})
    print("# summary")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
