"""Two tasks cut from Fashion-MNIST by class, as NumPy folders xnas-search reads with --data:
task A holds classes 0-4 (T-shirt/top, trouser, pullover, dress, coat), task B classes 5-9
(sandal, shirt, sneaker, bag, ankle boot), each relabelled 0-4, with the published training and
test split. A network searched on A is then transferred to B (benchmarks/transfer_fine_tune.cpp).

    /usr/bin/python3 benchmarks/fashion_tasks.py OUT [--data /usr/share/datasets/fashion-mnist]

writes OUT/a and OUT/b, each with x_train.npy (N, 1, 28, 28) float32 in [0, 1], y_train.npy
int64, x_test.npy, y_test.npy.
"""
import argparse
import gzip
import os

import numpy as np


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(data, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(data, name)):
            return os.path.join(data, name)
    raise SystemExit(f"fashion_tasks.py: {data} has no {stem}[.gz]")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(find(a.data, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(find(a.data, f"{prefix}-labels-idx1-ubyte"))
        parts[split] = (x, y)
    for task, classes in (("a", range(0, 5)), ("b", range(5, 10))):
        folder = os.path.join(a.out, task)
        os.makedirs(folder, exist_ok=True)
        for split, (x, y) in parts.items():
            keep = np.isin(y, list(classes))
            np.save(os.path.join(folder, f"x_{split}.npy"),
                    (x[keep].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28))
            np.save(os.path.join(folder, f"y_{split}.npy"), y[keep].astype(np.int64) - classes[0])
        print(f"{folder}: {int(np.isin(parts['train'][1], list(classes)).sum())} training, "
              f"{int(np.isin(parts['test'][1], list(classes)).sum())} test samples")


if __name__ == "__main__":
    main()
