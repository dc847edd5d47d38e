#!/usr/bin/python3
"""Per-trial cost, side by side: the same architectures of the image space trained as a search
trial by xnas (xnas-trial-bench) and by the race's PyTorch objective (optuna_torch_search.py's
build / train / accuracy), interleaved in one run so both see the same machine load.

    /usr/bin/python3 benchmarks/compare_trials.py --bench build-bench/benchmarks/xnas-trial-bench \
        --archs FILE [--epochs 2 --train-subset 10000 --seed 5 --repeat 2]

FILE holds xnas architecture strings, one per line (e.g. lines of a race's trials.csv); both
sides train on the same split (xnas-trial-bench writes it). A trial is timed from building the
network to its validation accuracy, as each side's search times it; both run one thread.
PyTorch's stage can only add its own input as a residual, so an xnas skip from an earlier layer
is timed as a skip from the previous one when the shapes match (an addition: negligible cost).
Prints each architecture's median seconds per side and the ratio PyTorch / xnas (above 1: xnas
is faster), then the geometric mean of the ratios.
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def optuna_params(arch):
    """The optuna_torch_search.py parameters of an xnas image-space architecture string."""
    layers, _, training = arch.partition(";")
    convs_text, _, dense_text = layers.strip().partition("+")
    p = {}
    convs = re.findall(r"conv\(([^)]*)\)", convs_text)
    dense = re.findall(r"dense\(([^)]*)\)", dense_text)
    p["conv_stages"], p["dense_layers"] = len(convs), len(dense)
    hw = 28
    for i, body in enumerate(convs):
        a = dict(kv.split("=") for kv in body.split(","))
        p.update({f"c{i}_kernel": int(a["k"]), f"c{i}_channels": int(a["c"]), f"c{i}_act": a["act"],
                  f"c{i}_bn": int(a["bn"]), f"c{i}_pool": a["pool"] if hw >= 2 else "none"})
        if i > 0:
            p[f"c{i}_skip"] = 1 if "skip" in a else 0
        hw = hw // 2 if p[f"c{i}_pool"] != "none" else hw
    for i, body in enumerate(dense):
        a = dict(kv.split("=") for kv in body.split(","))
        p.update({f"d{i}_width": int(a["w"]), f"d{i}_act": a["act"], f"d{i}_dropout": float(a["drop"])})
    t = dict(kv.split("=") for kv in training.strip().split(";"))
    p.update({"optimizer": t["optimizer"], "lr": float(t["lr"]), "batch": int(t["batch_size"])})
    return p


def torch_run(archs, split_path, data, epochs, subset, seed):
    import numpy as np
    import optuna
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import optuna_torch_search as ots

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    x = (ots.load_idx(os.path.join(data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255 - ots.MEAN) / ots.STD
    y = ots.load_idx(os.path.join(data, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    split = json.load(open(split_path))
    tr, va = np.array(split["train"])[:subset or None], np.array(split["val"])
    X, Y = torch.from_numpy(x).reshape(-1, 1, 28, 28), torch.from_numpy(y)
    for number, arch in enumerate(archs):
        params = optuna_params(arch)
        start = time.perf_counter()
        net, flops = ots.build(optuna.trial.FixedTrial(params))
        ots.train(net, params["optimizer"], params["lr"], params["batch"], epochs, X[tr], Y[tr], seed + number)
        acc = ots.accuracy(net, X[va], Y[va])
        print(json.dumps({"system": "pytorch", "arch": arch, "seconds": time.perf_counter() - start,
                          "val_accuracy": acc, "flops": flops}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="path to xnas-trial-bench")
    ap.add_argument("--archs", required=True, help="file of xnas architecture strings, one per line")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--train-subset", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=2, help="alternating runs per system")
    ap.add_argument("--torch-only", metavar="SPLIT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    archs = [line.strip() for line in open(args.archs) if line.strip()]
    if args.torch_only:
        torch_run(archs, args.torch_only, args.data, args.epochs, args.train_subset, args.seed)
        return

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    common = ["--epochs", str(args.epochs), "--train-subset", str(args.train_subset),
              "--seed", str(args.seed), "--data", args.data]
    seconds = {a: {"xnas": [], "pytorch": []} for a in archs}
    with tempfile.TemporaryDirectory() as tmp:
        split = os.path.join(tmp, "split.json")
        for _ in range(args.repeat):
            runs = [("xnas", [args.bench, *common, "--split-out", split, *archs]),
                    ("pytorch", [sys.executable, __file__, "--bench", args.bench, "--archs", args.archs,
                                 *common, "--torch-only", split])]
            for name, cmd in runs:
                out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
                for line in out.splitlines():
                    if line.startswith("{"):
                        row = json.loads(line)
                        print(json.dumps(row), flush=True)
                        seconds[row["arch"]][name].append(row["seconds"])
    print("# summary (median seconds per trial over repeats)")
    ratios = []
    for a in archs:
        x, t = statistics.median(seconds[a]["xnas"]), statistics.median(seconds[a]["pytorch"])
        ratios.append(t / x)
        print(json.dumps({"arch": a, "xnas_seconds": round(x, 3), "pytorch_seconds": round(t, 3),
                          "ratio_pytorch_over_xnas": round(t / x, 3)}))
    print(json.dumps({"architectures": len(archs),
                      "geometric_mean_ratio": round(math.exp(statistics.mean(map(math.log, ratios))), 3)}))


if __name__ == "__main__":
    main()
