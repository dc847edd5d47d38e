"""PyTorch twins of the networks xnas builds for xnas-search's three spaces, and the trial
recipe xnas's train_evaluator trains them with, for benchmarks/compare_trials.py.

    net, recipe = build(space, arch)     # space: chain, cell or rnn; arch: xnas's string
    parameters(net), flops(net, space)   # counted as xnas counts them, to check the twin
    load_xnas_weights(net, path); probe_logits(net, space)   # the same function as xnas's?
    probe_logits_after_steps(net, recipe, space)              # trained the same way?
    train(net, recipe, epochs, x, y, seed); accuracy(net, x, y); latency_probe(net, space)

chain: chain_builder over chain_space::image() x training_params() (conv k x k "same", no bias
    under batch norm, batch norm, activation, 2x2 max/avg pooling when the map is at least 2x2;
    dense, activation, dropout; `skip=i` adds layer i's output where the shapes are equal; a
    flattening dense head). The optimizer, learning rate and batch size are part of the string.
cell: cell_builder (NAS-Bench-201's layout for 28x28 grey images): conv3x3 1->8 + batch norm;
    three stages of one cell at 8, 16, 32 channels, each stage after the first led by ReLU,
    conv3x3 stride 2 doubling the channels, batch norm; ReLU, global average pooling, dense.
    A cell node sums its incoming edges (none: no edge; skip_connect: identity; nor_conv_kxk:
    ReLU, conv without bias, batch norm; avg_pool_3x3: stride 1, padding 1, padding not
    counted); a node without incoming edges is zero.
rnn: chain_builder over chain_space::sequence() with input (28, 28), the image's rows as time
    steps: lstm(h) / gru(h) layers (each but the last of a run returns its sequence, the last its
    final state), then dense layers and the head.
cell and rnn strings carry no training parameters: train_evaluator's default recipe (SGD with
momentum 0.9, learning rate 0.05, batch 64) trains them, as in xnas-search.

PyTorch's default initialisation is the scheme xnas's trials use (nn::init::scheme::
pytorch_default: Kaiming-uniform weights with a = sqrt 5, biases U(+-1/sqrt(fan_in)), recurrent
layers U(+-1/sqrt(H)), batch norm 1 and 0), drawn from another generator.
"""
import json
import math
import re
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_RECIPE = {"optimizer": "sgd", "lr": 0.05, "batch_size": 64}
IMAGE_INPUT, SEQUENCE_INPUT, CLASSES = (1, 28, 28), (28, 28), 10


class ArchitectureError(ValueError):
    """An architecture string this module cannot read."""


# ---- parsing ------------------------------------------------------------------------------

def parse_chain_layers(text):
    """chain_space's string -> [(stage, op, {choice: value}, skip or None)]."""
    layers = []
    for stage, stage_text in enumerate(text.strip().split("+")):
        if not stage_text.strip():
            continue
        for layer in stage_text.split("|"):
            m = re.fullmatch(r"\s*(\w+)\((.*)\)\s*", layer)
            if not m:
                raise ArchitectureError(f"cannot read layer {layer!r} of {text!r}")
            args = dict(kv.split("=", 1) for kv in m.group(2).split(",") if kv)
            skip = args.pop("skip", None)
            layers.append((stage, m.group(1), args, None if skip is None else int(skip)))
    return layers


def parse_recipe(text):
    """param_space's string (optimizer=...;lr=...;batch_size=...) -> the recipe it sets."""
    recipe = dict(DEFAULT_RECIPE)
    for token in text.strip().split(";"):
        name, _, value = token.partition("=")
        if name == "optimizer":
            recipe["optimizer"] = value
        elif name == "lr":
            recipe["lr"] = float(value)
        elif name == "batch_size":
            recipe["batch_size"] = int(value)
        else:
            raise ArchitectureError(f"unknown training parameter {token!r} in {text!r}")
    return recipe


CELL_NODES = 4


def parse_cell(text):
    """NAS-Bench-201's string -> {(i, j): op} over the edges i -> j of a 4-node cell."""
    groups = text.strip().split("+")
    if len(groups) != CELL_NODES - 1:
        raise ArchitectureError(f"expected {CELL_NODES - 1} node groups in {text!r}")
    edges = {}
    for j, group in enumerate(groups, start=1):
        items = [x for x in group.split("|") if x]
        if len(items) != j:
            raise ArchitectureError(f"node {j} of {text!r} has {len(items)} edges, expected {j}")
        for item in items:
            op, _, source = item.partition("~")
            edges[(int(source), j)] = op
    return edges


# ---- modules ------------------------------------------------------------------------------

class Add(nn.Module):
    """The sum of its inputs (a merge node of xnas's network)."""

    def forward(self, *xs):
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class Recurrent(nn.Module):
    """nn.LSTM / nn.GRU over (N, T, F) that returns (N, T, H), or (N, H), the last step's h."""

    def __init__(self, kind, features, hidden, sequences):
        super().__init__()
        self.rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(features, hidden, batch_first=True)
        self.sequences = sequences

    def forward(self, x):
        y, _ = self.rnn(x)
        return y if self.sequences else y[:, -1]


def activation(name):
    return {"relu": nn.ReLU(), "gelu": nn.GELU()}[name]


class ChainNet(nn.Module):
    """chain_builder's network: one block per chain layer, residuals where shapes agree."""

    def __init__(self, layers, input_shape):
        super().__init__()
        self.blocks, self.skips, self.adds = nn.ModuleList(), [], nn.ModuleList()
        shape, shapes = tuple(input_shape), []
        for i, (_, op, a, skip) in enumerate(layers):
            block = []
            if op == "conv":
                if len(shape) != 3:
                    raise ArchitectureError(f"conv needs (C, H, W) input, got {shape}")
                k, c, bn = int(a["k"]), int(a["c"]), a["bn"] == "1"
                block.append(nn.Conv2d(shape[0], c, k, padding=k // 2, bias=not bn))
                if bn:
                    block.append(nn.BatchNorm2d(c))
                block.append(activation(a["act"]))
                shape = (c, shape[1], shape[2])
                if a["pool"] != "none" and shape[1] >= 2 and shape[2] >= 2:
                    block.append(nn.MaxPool2d(2) if a["pool"] == "max" else nn.AvgPool2d(2))
                    shape = (c, shape[1] // 2, shape[2] // 2)
            elif op == "dense":
                if len(shape) > 1:
                    block.append(nn.Flatten())
                    shape = (math.prod(shape),)
                w, drop = int(a["w"]), float(a["drop"])
                block += [nn.Linear(shape[0], w), activation(a["act"])]
                if drop > 0:
                    block.append(nn.Dropout(drop))
                shape = (w,)
            elif op in ("lstm", "gru"):
                if len(shape) != 2:
                    raise ArchitectureError(f"{op} needs (T, F) input, got {shape}")
                h = int(a["h"])
                sequences = i + 1 < len(layers) and layers[i + 1][1] in ("lstm", "gru")
                block.append(Recurrent(op, shape[1], h, sequences))
                shape = (shape[0], h) if sequences else (h,)
            else:
                raise ArchitectureError(f"no PyTorch twin for op {op!r}")
            self.blocks.append(nn.Sequential(*block))
            residual = skip is not None and skip < len(shapes) and shapes[skip] == shape
            self.skips.append(skip if residual else None)
            self.adds.append(Add() if residual else nn.Identity())
            shapes.append(shape)
        head = [nn.Flatten()] if len(shape) > 1 else []
        self.head = nn.Sequential(*head, nn.Linear(math.prod(shape), CLASSES))

    def forward(self, x):
        outs = []
        for block, skip, add in zip(self.blocks, self.skips, self.adds):
            x = block(x)
            if skip is not None:
                x = add(x, outs[skip])
            outs.append(x)
        return self.head(x)


def conv_bn(cin, cout, k, stride=1):
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm2d(cout)]


class Zero(nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)


class Cell(nn.Module):
    def __init__(self, edges, channels):
        super().__init__()
        self.edges = nn.ModuleDict()
        for (i, j), op in sorted(edges.items(), key=lambda e: (e[0][1], e[0][0])):
            if op == "none":
                continue
            if op == "skip_connect":
                m = nn.Identity()
            elif op in ("nor_conv_1x1", "nor_conv_3x3"):
                m = nn.Sequential(nn.ReLU(), *conv_bn(channels, channels, int(op[-1])))
            elif op == "avg_pool_3x3":
                m = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
            else:
                raise ArchitectureError(f"no PyTorch twin for cell op {op!r}")
            self.edges[f"{i}_{j}"] = m
        self.merges = nn.ModuleList(Add() for _ in range(1, CELL_NODES))
        self.zero = Zero()

    def forward(self, x):
        nodes = [x]
        for j in range(1, CELL_NODES):
            incoming = [self.edges[f"{i}_{j}"](nodes[i]) for i in range(j) if f"{i}_{j}" in self.edges]
            if not incoming:
                nodes.append(self.zero(x))
            elif len(incoming) == 1:
                nodes.append(incoming[0])
            else:
                nodes.append(self.merges[j - 1](*incoming))
        return nodes[-1]


def cell_net(edges, channels=8, stages=3):
    layers, c = conv_bn(IMAGE_INPUT[0], channels, 3), channels
    for s in range(stages):
        if s > 0:
            layers += [nn.ReLU(), *conv_bn(c, 2 * c, 3, stride=2)]
            c *= 2
        layers.append(Cell(edges, c))
    layers += [nn.ReLU(), GlobalAvgPool(), nn.Linear(c, CLASSES)]
    return nn.Sequential(*layers)


def build(space, arch):
    """(network, recipe) of an xnas architecture string of `space`."""
    if space == "chain":
        layers, sep, params = arch.partition(" ; ")
        if not sep:
            raise ArchitectureError(f"no ' ; ' before the training parameters in {arch!r}")
        return ChainNet(parse_chain_layers(layers), IMAGE_INPUT), parse_recipe(params)
    if space == "rnn":
        return ChainNet(parse_chain_layers(arch), SEQUENCE_INPUT), dict(DEFAULT_RECIPE)
    if space == "cell":
        return cell_net(parse_cell(arch)), dict(DEFAULT_RECIPE)
    raise ArchitectureError(f"unknown space {space!r} (chain, cell, rnn)")


def input_shape(space):
    return SEQUENCE_INPUT if space == "rnn" else IMAGE_INPUT


# ---- counting -----------------------------------------------------------------------------

def parameters(net):
    """Learnable scalars (batch norm's running statistics are buffers, as in xnas's count)."""
    return sum(p.numel() for p in net.parameters())


def _module_flops(m, inputs, out):
    """Forward operations per sample of one module, by xnas's rules (a multiply-add is 2),
    from the shapes of a one-sample forward pass."""
    x = inputs[0] if inputs else None
    if isinstance(m, nn.Conv2d):
        per_output = 2 * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        return out.numel() * (per_output + (1 if m.bias is not None else 0))
    if isinstance(m, nn.Linear):
        return 2 * m.in_features * m.out_features + (m.out_features if m.bias is not None else 0)
    if isinstance(m, nn.BatchNorm2d):
        return 2 * out.numel()
    if isinstance(m, nn.ReLU):
        return out.numel()
    if isinstance(m, nn.GELU):
        return 8 * out.numel()
    if isinstance(m, nn.Dropout):
        return out.numel()
    if isinstance(m, nn.MaxPool2d):
        return out.numel() * m.kernel_size * m.kernel_size
    if isinstance(m, nn.AvgPool2d):
        return out.numel() * (m.kernel_size * m.kernel_size + 1)
    if isinstance(m, GlobalAvgPool):
        return x.numel() + out.shape[1]
    if isinstance(m, Add):
        return (len(inputs) - 1) * out.numel()
    if isinstance(m, (nn.LSTM, nn.GRU)):
        steps, features, h = x.shape[1], m.input_size, m.hidden_size
        if isinstance(m, nn.LSTM):
            return steps * (8 * h * (features + h) + 8 * h + 4 * h + 5 * h)
        return steps * (6 * h * (features + h) + 6 * h + 3 * h + 5 * h)
    return 0  # containers, flatten, identity, zero


def flops(net, space):
    """Forward FLOPs per sample, counted by xnas's rules over a one-sample forward pass."""
    total = [0]

    def hook(m, inputs, out):
        if not list(m.children()) or isinstance(m, (nn.LSTM, nn.GRU)):
            total[0] += _module_flops(m, inputs, out)

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    was_training = net.training
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, *input_shape(space)))
    net.train(was_training)
    for h in handles:
        h.remove()
    return total[0]


# ---- the same function ---------------------------------------------------------------------

def load_xnas_weights(net, path):
    """Copies the tensors of a network xnas saved (format xnas-network 1, float32) into `net`'s
    parameters and batch-norm statistics, in order; raises ArchitectureError naming the first
    tensor whose shape differs, or a count that differs."""
    import numpy as np
    with open(path, "rb") as f:
        header = json.loads(f.readline())
        payload = f.read()
    if header.get("format") != "xnas-network" or header.get("value_type") != "float32":
        raise ArchitectureError(f"{path}: not a float32 xnas-network file")
    values = np.frombuffer(payload, dtype="<f4")
    ours = [(name, t) for name, t in net.state_dict(keep_vars=True).items()
            if not name.endswith("num_batches_tracked")]
    theirs = header["tensors"]
    if len(ours) != len(theirs):
        raise ArchitectureError(f"{path}: xnas saved {len(theirs)} tensors, the PyTorch network has {len(ours)}")
    at = 0
    with torch.no_grad():
        for (name, t), spec in zip(ours, theirs):
            shape, n = tuple(spec["shape"]), math.prod(spec["shape"])
            if shape != tuple(t.shape):
                raise ArchitectureError(f"{path}: xnas tensor {spec['name']} has shape {shape}, "
                                        f"PyTorch's {name} {tuple(t.shape)}")
            t.copy_(torch.from_numpy(values[at:at + n].copy()).reshape(shape))
            at += n


def probe_input(space):
    """xnas-trial-bench --describe's probe: three samples x[n][i] = sin(0.37 i + 1.3 n) over the
    sample's values, labelled 0, 1, 2."""
    per_sample = math.prod(input_shape(space))
    i = torch.arange(per_sample, dtype=torch.float64)
    x = torch.stack([torch.sin(0.37 * i + 1.3 * n) for n in range(3)]).float()
    return x.reshape(3, *input_shape(space)), torch.tensor([0, 1, 2])


def probe_logits(net, space):
    """The probe's logits in eval mode."""
    net.eval()
    with torch.no_grad():
        return net(probe_input(space)[0]).flatten().tolist()


def probe_logits_after_steps(net, recipe, space, steps=3):
    """The probe's logits after `steps` steps of `recipe` on the probe's samples as one batch
    (train mode), as xnas-trial-bench --describe takes them."""
    x, y = probe_input(space)
    opt = optimizer(net, recipe)
    net.train()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
        opt.step()
    return probe_logits(net, space)


def has_dropout(net):
    return any(isinstance(m, nn.Dropout) and m.p > 0 for m in net.modules())


# ---- the trial ----------------------------------------------------------------------------

def optimizer(net, recipe):
    """The trial's optimizer: SGD with momentum 0.9 (PyTorch's form, as xnas's) or Adam."""
    if recipe["optimizer"] == "sgd":
        return torch.optim.SGD(net.parameters(), lr=recipe["lr"], momentum=0.9)
    if recipe["optimizer"] == "adam":
        return torch.optim.Adam(net.parameters(), lr=recipe["lr"])
    raise ArchitectureError(f"unknown optimizer {recipe['optimizer']!r}")


def train(net, recipe, epochs, x, y, seed):
    """train_evaluator's trial training: `epochs` passes over (x, y) reshuffled every epoch,
    batches in order with the last one smaller, mean cross-entropy, a constant learning rate,
    no augmentation, no weight decay. Raises FloatingPointError on a non-finite loss, where
    xnas records the trial as diverged."""
    gen = torch.Generator().manual_seed(seed)
    batch = recipe["batch_size"]
    opt = optimizer(net, recipe)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(x.shape[0], generator=gen)
        for i in range(0, x.shape[0], batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x[idx]), y[idx])
            if not torch.isfinite(loss):
                raise FloatingPointError("loss is not finite")
            loss.backward()
            opt.step()


def accuracy(net, x, y, batch=256):
    """Validation accuracy in eval mode, in train::evaluate's batches of 256."""
    net.eval()
    with torch.no_grad():
        return sum(int((net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
                   for i in range(0, x.shape[0], batch)) / x.shape[0]


def latency_probe(net, space, runs=15):
    """train_evaluator's inference latency: median seconds of `runs` single-sample forward
    passes in eval mode after 3 warm-up passes, on a constant input."""
    net.eval()
    x = torch.full((1, *input_shape(space)), 0.5)
    times = []
    with torch.no_grad():
        for i in range(runs + 3):
            start = time.perf_counter()
            net(x)
            if i >= 3:
                times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]
