#!/usr/bin/python3
"""Side-by-side training throughput: xnas-train-bench against PyTorch on the same recipes.

Runs, in one invocation and interleaved (so both see the same machine load), the MLP and CNN
recipes of xnas-train-bench in PyTorch (Debian python3-torch) and in xnas, for each thread
count, and prints per-epoch JSON lines plus the ratio xnas/PyTorch of images per second.

    /usr/bin/python3 benchmarks/compare_torch.py --bench build/benchmarks/xnas-train-bench

Recipes (identical in both): inputs scaled to [0,1] then standardised (mean 0.2860, std
0.3530); MLP 784-256-128-10 ReLU, batch 128; CNN conv3x3(1->16, no padding)-ReLU-maxpool2,
conv3x3(16->32)-ReLU-maxpool2, flatten, dense(800->10), batch 64; CNN-BN (--models cnn-bn)
three stages of conv3x3 (padding 1; 32, 64, 64 channels)-BatchNorm-ReLU-maxpool2, flatten,
dense(576->10), batch 32, where xnas's threads share batch norm statistics across their shards
and PyTorch's threads split each operation of the whole batch; SGD lr 0.05 momentum 0.9;
PyTorch's default initialisation; reshuffle every epoch; timed: each batch's gather of its
shuffled rows + forward + backward + update over the 60,000 training images, excluding loading
and drawing the permutation (the same work in both systems; compare_trials.py times PyTorch's
trials the same way).

Epoch-1 test accuracy depends on the seed by about a point, so repeat r runs with seed
--seed + r in both systems and the summary gives each system's mean over the repeats.
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time

MEAN, STD = 0.2860, 0.3530


def load_idx(path):
    import numpy as np
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def torch_run(model_name, threads, epochs, data_dir, seed):
    """One PyTorch run in this process; prints one JSON line per epoch."""
    import numpy as np
    import torch
    import torch.nn as nn

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    x = load_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    y = load_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xt = load_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    yt = load_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    x, xt = (x - MEAN) / STD, (xt - MEAN) / STD
    if model_name == "mlp":
        batch = 128
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                            nn.ReLU(), nn.Linear(128, 10))
    elif model_name == "cnn-bn":
        batch = 32
        layers, channels = [], 1
        for out in (32, 64, 64):
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(),
                       nn.MaxPool2d(2)]
            channels = out
        net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(576, 10))
    else:
        batch = 64
        net = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3),
                            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 10))
    X = torch.from_numpy(x).reshape(-1, 1, 28, 28)
    Y = torch.from_numpy(y)
    XT = torch.from_numpy(xt).reshape(-1, 1, 28, 28)
    YT = torch.from_numpy(yt)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(X.shape[0], generator=gen)  # the permutation: not timed
        net.train()
        start = time.perf_counter()
        for i in range(0, X.shape[0], batch):
            idx = perm[i:i + batch]
            xb, yb = X[idx], Y[idx]  # the batch's rows gathered, as xnas's fit does
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        net.eval()
        with torch.no_grad():
            correct = sum(int((net(XT[i:i + 1000]).argmax(1) == YT[i:i + 1000]).sum())
                          for i in range(0, XT.shape[0], 1000))
        print(json.dumps({"system": "pytorch", "model": model_name, "threads": threads,
                          "batch": batch, "epoch": epoch, "seconds": round(seconds, 4),
                          "images_per_s": round(X.shape[0] / seconds, 1),
                          "test_accuracy": correct / XT.shape[0]}), flush=True)


def run_lines(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", help="path to xnas-train-bench (omit to run PyTorch only)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2,
                    help="alternating runs per system, repeat r with seed --seed + r")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--torch-only", nargs=2, metavar=("MODEL", "THREADS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_only:
        torch_run(args.torch_only[0], int(args.torch_only[1]), args.epochs, args.data, args.seed)
        return

    summary = []
    for model in args.models.split(","):
        for threads in [int(t) for t in args.threads.split(",")]:
            env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="passive",
                       OPENBLAS_NUM_THREADS=str(threads))
            rates = {"pytorch": [], "xnas": []}
            acc = {"pytorch": [], "xnas": []}
            for r in range(args.repeat):
                seed = str(args.seed + r)
                torch_cmd = [sys.executable, __file__, "--torch-only", model, str(threads),
                             "--epochs", str(args.epochs), "--data", args.data, "--seed", seed]
                systems = [("pytorch", torch_cmd)]
                if args.bench:
                    systems.append(("xnas", [args.bench, "--model", model, "--threads", str(threads),
                                             "--epochs", str(args.epochs), "--data", args.data,
                                             "--seed", seed]))
                for name, cmd in systems:
                    for line in run_lines(cmd, env):
                        line.setdefault("system", name)
                        print(json.dumps(line), flush=True)
                        rates[name].append(line["images_per_s"])
                        if line["epoch"] == 1:
                            acc[name].append(line["test_accuracy"])
            row = {"model": model, "threads": threads,
                   "pytorch_images_per_s": statistics.median(rates["pytorch"]),
                   "pytorch_epoch1_test_accuracy": statistics.mean(acc["pytorch"])}
            if args.bench:
                row.update({"xnas_images_per_s": statistics.median(rates["xnas"]),
                            "xnas_epoch1_test_accuracy": statistics.mean(acc["xnas"])})
                row["ratio_xnas_over_pytorch"] = round(row["xnas_images_per_s"] / row["pytorch_images_per_s"], 3)
            summary.append(row)
    print("# summary (median images/s over repeats and epochs; epoch-1 test accuracy: mean over the repeats' seeds)")
    for row in summary:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
