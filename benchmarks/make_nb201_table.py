#!/usr/bin/python3
"""Writes a synthetic NAS-Bench-201-style table: one row per cell of the NB201 space (4 nodes,
6 edges, ops none / skip_connect / nor_conv_1x1 / nor_conv_3x3 / avg_pool_3x3: 15,625 cells),
or of a smaller cell space with --nodes 3 (125 cells), with columns

    arch        the NB201 architecture string, |op~0|+|op~0|op~1|+|op~0|op~1|op~2|
    val_acc     validation accuracy in percent (what a search may look at)
    test_acc    test accuracy in percent (what a report shows): val_acc plus a small shift and
                independent noise, so the best-by-validation cell is not always best on test
    train_time  simulated training seconds (convolutions cost most)

With --fidelities E1,E2,... it adds, per number of epochs E, val_acc@E (a learning curve that
reaches val_acc at the last E and ranks cells with their own speed of learning earlier, so low
fidelities mislead somewhat, as short training does) and train_time@E (train_time x E / the last
E), for xnas-tabular --fidelity-columns. The other columns are the same with or without it.

The structure mimics the real benchmark's: cells whose input cannot reach the output are at
chance (10 %); on paths, conv3x3 helps most, then conv1x1, skip helps depth, pooling and none
hurt; deeper convolutional paths help with diminishing returns; accuracies saturate near 94 %.
Deterministic for a given --seed. Standard library only.

Usage: make_nb201_table.py --out table.csv [--seed 0] [--nodes 4] [--fidelities 7,22,67,200]
"""
import argparse
import itertools
import math
import random

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
# Contribution of an op on an edge that lies on an input-to-output path.
OP_GAIN = {"none": 0.0, "skip_connect": 0.6, "nor_conv_1x1": 2.2, "nor_conv_3x3": 3.4,
           "avg_pool_3x3": 0.4}
OP_COST = {"none": 0.0, "skip_connect": 0.05, "nor_conv_1x1": 0.9, "nor_conv_3x3": 2.6,
           "avg_pool_3x3": 0.3}


def edges_of(nodes):
    """Edges (i, j) in the NB201 string order: node by node, then by source."""
    return [(i, j) for j in range(1, nodes) for i in range(j)]


def arch_string(nodes, ops):
    out, k = [], 0
    for j in range(1, nodes):
        group = []
        for i in range(j):
            group.append(f"{ops[k]}~{i}")
            k += 1
        out.append("|" + "|".join(group) + "|")
    return "+".join(out)


def paths(nodes, edge_ops):
    """All input-to-output paths as lists of ops, skipping 'none' edges."""
    result = []

    def walk(node, ops):
        if node == nodes - 1:
            result.append(ops)
            return
        for j in range(node + 1, nodes):
            op = edge_ops[(node, j)]
            if op != "none":
                walk(j, ops + [op])

    walk(0, [])
    return result


def score(nodes, ops, edge_noise):
    edges = edges_of(nodes)
    edge_ops = dict(zip(edges, ops))
    ps = paths(nodes, edge_ops)
    if not ps:
        return None
    # Edges used by some path.
    def used(e):
        i, j = e
        if edge_ops[e] == "none":
            return False
        reach_i = i == 0 or any(p for p in paths_to(i))
        return reach_i and (j == nodes - 1 or reaches_out(j))

    def paths_to(n):
        return [p for p in sub_paths(0, n)]

    def sub_paths(a, b):
        if a == b:
            return [[]]
        res = []
        for j in range(a + 1, b + 1):
            if edge_ops[(a, j)] != "none":
                for rest in sub_paths(j, b):
                    res.append([edge_ops[(a, j)]] + rest)
        return res

    def reaches_out(n):
        return bool(sub_paths(n, nodes - 1))

    s = 0.0
    for e in edges:
        if used(e):
            s += OP_GAIN[edge_ops[e]] + edge_noise[e][edge_ops[e]]
        elif edge_ops[e] in ("nor_conv_3x3", "nor_conv_1x1"):
            s += 0.15  # dead-end convolutions still add a little capacity
    # Depth: the deepest path's convolutions help, with diminishing returns.
    deepest = max(sum(op.startswith("nor_conv") for op in p) for p in ps)
    s += 1.5 * math.log1p(deepest)
    # A cell that is only pooling / skips on every path is weak.
    if all(all(op in ("skip_connect", "avg_pool_3x3") for op in p) for p in ps):
        s -= 3.0
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="CSV file to write")
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated structure")
    ap.add_argument("--nodes", type=int, default=4, help="cell nodes (4: NB201, 15,625 cells)")
    ap.add_argument("--fidelities", default="",
                    help="comma-separated epochs E: adds val_acc@E and train_time@E columns")
    args = ap.parse_args()
    levels = [int(e) for e in args.fidelities.split(",") if e]
    # A generator of its own, so the base columns do not change with --fidelities.
    curve = random.Random(args.seed + 7919)
    rnd = random.Random(args.seed)
    edges = edges_of(args.nodes)
    edge_noise = {e: {op: rnd.gauss(0, 0.35) for op in OPS} for e in edges}
    rows = []
    for ops in itertools.product(OPS, repeat=len(edges)):
        s = score(args.nodes, ops, edge_noise)
        cost = sum(OP_COST[o] for o in ops)
        if s is None:
            val = 10.0 + rnd.gauss(0, 0.05)
            test = 10.0 + rnd.gauss(0, 0.05)
        else:
            # Saturating map of the score onto accuracy: 55 % .. ~94 %.
            val = 55.0 + 38.5 * (1.0 - math.exp(-max(s, 0.0) / 9.0)) + rnd.gauss(0, 0.25)
            test = val + 2.6 + rnd.gauss(0, 0.45)
        time = 900.0 + 420.0 * cost + rnd.gauss(0, 15.0)
        extra = []
        if levels:
            # Learns at its own speed: the gap to the final accuracy shrinks as exp(-E / tau).
            tau = levels[-1] * 0.12 * math.exp(curve.gauss(0, 0.5))
            for e in levels:
                share = e / levels[-1]
                gap = (val - 10.0) * 0.8 * (math.exp(-e / tau) - math.exp(-levels[-1] / tau))
                noise = curve.gauss(0, 0.6) * (1.0 - share)
                extra.append((val - gap + noise, time * share))
        rows.append((arch_string(args.nodes, ops), val, test, time, extra))
    with open(args.out, "w") as f:
        header = "arch,val_acc,test_acc,train_time"
        for e in levels:
            header += f",val_acc@{e},train_time@{e}"
        f.write(header + "\n")
        for a, v, t, c, extra in rows:
            line = f"{a},{v:.4f},{t:.4f},{c:.2f}"
            for acc, seconds in extra:
                line += f",{acc:.4f},{seconds:.2f}"
            f.write(line + "\n")


if __name__ == "__main__":
    main()
