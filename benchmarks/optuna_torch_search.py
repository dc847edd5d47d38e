#!/usr/bin/python3
"""What a user would pick instead of xnas: Optuna's TPE sampler driving PyTorch CPU training,
over the same image space as `xnas-search --space chain`, on the same validation split, for
the same wall-clock budget. Run it beside xnas-search and compare trials, validation and test
accuracy.

    xnas-search --space chain --minutes 30 --epochs 1 --train-subset 10000 --out out/xnas
    /usr/bin/python3 benchmarks/optuna_torch_search.py --split out/xnas/split.json \
        --minutes 30 --epochs 1 --train-subset 10000 --threads 1 --workers 2

The space (kept in step with image_search_space() in include/xnas/evaluate/training_params.hpp
and chain_space::image()):
  1-4 conv layers: kernel {3,5}, channels {8,16,32,64}, activation {relu, gelu}, batch norm {0,1},
  pooling {none, max, avg}, residual from the previous layer {0,1} (applied when shapes allow);
  0-2 dense layers: width {32,64,128,256}, activation {relu, gelu}, dropout {0, 0.2, 0.5};
  optimizer {sgd (momentum 0.9), adam}, learning rate log-uniform [3e-4, 0.1], batch {32, 64, 128}.
(xnas's skip may name any earlier conv layer; here it is the previous one, the common case.)
"""
import argparse
import csv
import gzip
import json
import math
import os
import time

import numpy as np
import optuna
import torch
import torch.nn as nn

MEAN, STD = 0.2860, 0.3530


def load_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Stage(nn.Module):
    def __init__(self, cin, cout, k, bn, act, pool, skip):
        super().__init__()
        layers = [nn.Conv2d(cin, cout, k, padding=k // 2)]
        if bn:
            layers.append(nn.BatchNorm2d(cout))
        layers.append({"relu": nn.ReLU(), "gelu": nn.GELU()}[act])
        self.body = nn.Sequential(*layers)
        self.skip = skip and cin == cout and pool == "none"
        self.pool = {"none": nn.Identity(), "max": nn.MaxPool2d(2), "avg": nn.AvgPool2d(2)}[pool]

    def forward(self, x):
        y = self.pool(self.body(x))
        return y + x if self.skip else y


def build(trial):
    """The network of a trial and its forward FLOPs per image, counted as xnas counts them
    (a multiply-add is 2; bias, batch norm, activation and pooling terms included)."""
    layers, c, hw, flops = [], 1, 28, 0
    for i in range(trial.suggest_int("conv_stages", 1, 4)):
        k = trial.suggest_categorical(f"c{i}_kernel", [3, 5])
        cout = trial.suggest_categorical(f"c{i}_channels", [8, 16, 32, 64])
        act = trial.suggest_categorical(f"c{i}_act", ["relu", "gelu"])
        bn = trial.suggest_categorical(f"c{i}_bn", [0, 1])
        pool = trial.suggest_categorical(f"c{i}_pool", ["none", "max", "avg"])
        skip = trial.suggest_categorical(f"c{i}_skip", [0, 1]) if i > 0 else 0
        if pool != "none" and hw < 2:
            pool = "none"
        layers.append(Stage(c, cout, k, bn, act, pool, skip))
        out = cout * hw * hw
        flops += out * (2 * c * k * k + 1) + (2 * out if bn else 0) + out * (1 if act == "relu" else 8)
        if pool != "none":
            flops += (cout * (hw // 2) ** 2) * (4 if pool == "max" else 5)
        c, hw = cout, hw // 2 if pool != "none" else hw
    layers.append(nn.Flatten())
    features = c * hw * hw
    for i in range(trial.suggest_int("dense_layers", 0, 2)):
        w = trial.suggest_categorical(f"d{i}_width", [32, 64, 128, 256])
        act = trial.suggest_categorical(f"d{i}_act", ["relu", "gelu"])
        drop = trial.suggest_categorical(f"d{i}_dropout", [0.0, 0.2, 0.5])
        layers += [nn.Linear(features, w), nn.ReLU() if act == "relu" else nn.GELU()]
        flops += 2 * features * w + w + w * (1 if act == "relu" else 8)
        layers += [nn.Dropout(drop)] if drop > 0 else []
        features = w
    layers.append(nn.Linear(features, 10))
    flops += 2 * features * 10 + 10
    return nn.Sequential(*layers), flops


def train(net, opt_name, lr, batch, epochs, x, y, seed, cosine=False):
    """cosine: anneal the learning rate to 0 over the run, per batch (xnas-search's final
    retrain: lr(t) = lr (1 + cos(pi t / epochs)) / 2 with t = epoch + batch / batches)."""
    gen = torch.Generator().manual_seed(seed)
    opt = (torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9) if opt_name == "sgd"
           else torch.optim.Adam(net.parameters(), lr=lr))
    loss_fn = nn.CrossEntropyLoss()
    batches = (x.shape[0] + batch - 1) // batch
    for e in range(epochs):
        net.train()
        perm = torch.randperm(x.shape[0], generator=gen)
        for b, i in enumerate(range(0, x.shape[0], batch)):
            if cosine:
                for group in opt.param_groups:
                    group["lr"] = lr * (1 + math.cos(math.pi * (e + b / batches) / epochs)) / 2
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[idx]), y[idx])
            if not torch.isfinite(loss):
                raise FloatingPointError("loss is not finite")
            loss.backward()
            opt.step()


def accuracy(net, x, y):
    net.eval()
    with torch.no_grad():
        return sum(int((net(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum())
                   for i in range(0, x.shape[0], 1000)) / x.shape[0]


def write_trials_csv(study, path):
    names = sorted({name for t in study.trials for name in t.params})
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["number", "state", "value", "seconds"] + names)
        for t in study.trials:
            seconds = t.duration.total_seconds() if t.duration is not None else ""
            out.writerow([t.number, t.state.name, "" if t.value is None else t.value, seconds] +
                         [t.params.get(name, "") for name in names])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--split", required=True, help="split.json written by xnas-search (train/val indices)")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-subset", type=int, default=0, help="train on the first K of the training split")
    ap.add_argument("--final-epochs", type=int, default=0, help="epochs of the final retrain (default: --epochs)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per trial")
    ap.add_argument("--workers", type=int, default=1, help="trials at once (Optuna n_jobs)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-params", type=int, default=0, help="larger candidates are pruned untrained (0: none)")
    ap.add_argument("--max-mflops", type=float, default=25,
                    help="candidates over this many forward MFLOPs per image are pruned untrained (0: none)")
    ap.add_argument("--trials-csv", default="", help="write every trial's number, state, value, seconds and parameters here")
    ap.add_argument("--final-constant-lr", action="store_true",
                    help="retrain at the searched learning rate (default: cosine-annealed to 0, as xnas-search)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    x = (load_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255 - MEAN) / STD
    y = load_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xt = (load_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255 - MEAN) / STD
    yt = load_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    split = json.load(open(args.split))
    tr, va = np.array(split["train"]), np.array(split["val"])
    if args.train_subset:
        tr = tr[:args.train_subset]
    X = torch.from_numpy(x).reshape(-1, 1, 28, 28)
    Y = torch.from_numpy(y)
    Xtr, Ytr, Xva, Yva = X[tr], Y[tr], X[va], Y[va]

    def objective(trial):
        net, flops = build(trial)
        opt = trial.suggest_categorical("optimizer", ["sgd", "adam"])
        lr = trial.suggest_float("lr", 3e-4, 0.1, log=True)
        batch = trial.suggest_categorical("batch", [32, 64, 128])
        # The budgets xnas-search checks before training, handled the way an Optuna user would.
        params = sum(p.numel() for p in net.parameters())
        if (args.max_params and params > args.max_params) or (args.max_mflops and flops > args.max_mflops * 1e6):
            raise optuna.TrialPruned()
        try:
            train(net, opt, lr, batch, args.epochs, Xtr, Ytr, args.seed + trial.number)
        except FloatingPointError:
            return 0.0
        return accuracy(net, Xva, Yva)

    sampler = optuna.samplers.TPESampler(seed=args.seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.time()
    study.optimize(objective, timeout=args.minutes * 60, n_jobs=args.workers)
    search_seconds = time.time() - start

    if args.trials_csv:
        write_trials_csv(study, args.trials_csv)

    best = study.best_trial
    fixed = optuna.trial.FixedTrial(best.params)
    net, _ = build(fixed)
    torch.set_num_threads(args.threads * args.workers)  # the retrain gets every core, as in xnas-search
    final_start = time.time()
    full_x, full_y = X[np.concatenate([split["train"], split["val"]])], Y[np.concatenate([split["train"], split["val"]])]
    train(net, best.params["optimizer"], best.params["lr"], best.params["batch"],
          args.final_epochs or args.epochs, full_x, full_y, args.seed, cosine=not args.final_constant_lr)
    final_seconds = time.time() - final_start
    test_acc = accuracy(net, torch.from_numpy(xt).reshape(-1, 1, 28, 28), torch.from_numpy(yt))
    trained = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    print(json.dumps({"system": "optuna-tpe+pytorch", "trials": len(study.trials), "trials_trained": trained,
                      "final_seconds": round(final_seconds, 1),
                      "val_accuracy": best.value, "test_accuracy": test_acc,
                      "params": sum(p.numel() for p in net.parameters()),
                      "search_seconds": round(search_seconds, 1), "best_params": best.params}))


if __name__ == "__main__":
    main()
