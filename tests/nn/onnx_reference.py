#!/usr/bin/python3
"""Checks the ONNX models nn::export_onnx writes, independently of xnas's own layer code.

    onnx_reference.py cases GENERATOR DIR
        Runs GENERATOR (the nn test executable) with its hidden "[.onnx_cases]" test, which writes
        DIR/<case>.onnx, DIR/<case>.input.npy and DIR/<case>.output.npy (xnas's eval-mode outputs
        for that input). Each model must pass onnx.checker.check_model(full_check=True) (which
        includes strict shape inference against the declared input and output shapes), and the
        interpreter below must reproduce xnas's outputs within 1e-5.
    onnx_reference.py model FILE CLASSES
        Checks FILE and runs it on a random batch: the output must be (N, CLASSES) and finite.

onnx 1.12 has no onnx.reference and Debian ships no onnxruntime, so the graphs run on a small
numpy interpreter of exactly the operators the exporter emits, written from the ONNX operator
specification (opset 13), not from xnas's layers. It computes in float64, so its own rounding
stays far below the tolerance. Exits non-zero on any failure.
"""

import math
import os
import subprocess
import sys

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:
    sys.exit(f"onnx_reference.py needs numpy and onnx (Debian: python3-onnx): {e}")

CASES = ["empty", "mlp", "mlp_double", "conv", "cell", "dense_merges", "lstm", "gru",
         "rnn_sequences"]
TOLERANCE = 1e-5


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def window_view(x, kernel, strides, dilations):
    """(N, C, OH, OW, kh, kw) windows of an already padded (N, C, H, W) array."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    oh = (h - ((kh - 1) * dh + 1)) // sh + 1
    ow = (w - ((kw - 1) * dw + 1)) // sw + 1
    out = np.empty((n, c, oh, ow, kh, kw), x.dtype)
    for i in range(kh):
        for j in range(kw):
            out[..., i, j] = x[:, :, i * dh:i * dh + (oh - 1) * sh + 1:sh,
                               j * dw:j * dw + (ow - 1) * sw + 1:sw]
    return out


def pad2d(x, pads, value):
    top, left, bottom, right = pads
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def conv(x, w, b=None, *, kernel_shape=None, strides=(1, 1), pads=(0, 0, 0, 0),
         dilations=(1, 1), group=1):
    m, cg = w.shape[0], w.shape[1]
    kernel = kernel_shape or w.shape[2:]
    win = window_view(pad2d(x, pads, 0.0), kernel, strides, dilations)
    mg = m // group
    y = np.concatenate(
        [np.einsum("nchwij,mcij->nmhw", win[:, g * cg:(g + 1) * cg], w[g * mg:(g + 1) * mg])
         for g in range(group)], axis=1)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def pool_attrs(a):
    assert a.get("ceil_mode", 0) == 0 and a.get("auto_pad", b"NOTSET") == b"NOTSET"
    return a["kernel_shape"], a.get("strides", (1, 1)), a.get("pads", (0, 0, 0, 0)), \
        a.get("dilations", (1, 1))


def max_pool(x, **a):
    kernel, strides, pads, dilations = pool_attrs(a)
    return window_view(pad2d(x, pads, -np.inf), kernel, strides, dilations).max(axis=(4, 5))


def average_pool(x, **a):
    kernel, strides, pads, dilations = pool_attrs(a)
    sums = window_view(pad2d(x, pads, 0.0), kernel, strides, dilations).sum(axis=(4, 5))
    if a.get("count_include_pad", 0):
        return sums / (kernel[0] * kernel[1])
    ones = pad2d(np.ones((1, 1) + x.shape[2:]), pads, 0.0)
    return sums / window_view(ones, kernel, strides, dilations).sum(axis=(4, 5))


def batch_norm(x, scale, bias, mean, var, epsilon=1e-5, momentum=0.9):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    r = lambda v: v.reshape(shape)
    return (x - r(mean)) / np.sqrt(r(var) + epsilon) * r(scale) + r(bias)


def gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    y = alpha * ((a.T if transA else a) @ (b.T if transB else b))
    return y if c is None else y + beta * c


def check_rnn_attrs(a, allowed):
    extra = set(a) - allowed
    assert not extra, f"attributes this interpreter does not implement: {extra}"
    assert a.get("direction", b"forward") == b"forward"


def lstm(x, w, r, b=None, *rest, hidden_size, **a):
    """Y (T, 1, N, H), Y_h (1, N, H); gates i, o, f, c; default activations; no peepholes."""
    check_rnn_attrs(a, {"direction"})
    assert not any(v is not None for v in rest), "sequence_lens, initial states, P unsupported"
    hs = hidden_size
    b = np.zeros((1, 8 * hs)) if b is None else b
    wb, rb = b[0, :4 * hs], b[0, 4 * hs:]
    h = np.zeros((x.shape[1], hs))
    c = np.zeros_like(h)
    ys = []
    for xt in x:
        g = xt @ w[0].T + h @ r[0].T + wb + rb
        i, o, f, cc = (g[:, k * hs:(k + 1) * hs] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(cc)
        h = sigmoid(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys)[:, None], h[None], c[None]


def gru(x, w, r, b=None, *rest, hidden_size, linear_before_reset=0, **a):
    """Y (T, 1, N, H), Y_h (1, N, H); gates z, r, h; default activations."""
    check_rnn_attrs(a, {"direction"})
    assert not any(v is not None for v in rest), "sequence_lens, initial_h unsupported"
    hs = hidden_size
    b = np.zeros((1, 6 * hs)) if b is None else b
    split = lambda m: [m[k * hs:(k + 1) * hs] for k in range(3)]
    (wz, wr, wh), (rz, rr, rh) = split(w[0]), split(r[0])
    (wbz, wbr, wbh), (rbz, rbr, rbh) = split(b[0, :3 * hs]), split(b[0, 3 * hs:])
    h = np.zeros((x.shape[1], hs))
    ys = []
    for xt in x:
        z = sigmoid(xt @ wz.T + h @ rz.T + wbz + rbz)
        rt = sigmoid(xt @ wr.T + h @ rr.T + wbr + rbr)
        if linear_before_reset:
            hh = np.tanh(xt @ wh.T + rt * (h @ rh.T + rbh) + wbh)
        else:
            hh = np.tanh(xt @ wh.T + (rt * h) @ rh.T + rbh + wbh)
        h = (1 - z) * hh + z * h
        ys.append(h)
    return np.stack(ys)[:, None], h[None]


OPS = {
    "Identity": lambda x: x,
    "Shape": lambda x: np.array(x.shape, np.int64),
    "ConstantOfShape": lambda s, value: np.full(tuple(s), value.reshape(-1)[0], np.float64),
    "Relu": lambda x: np.maximum(x, 0.0),
    "LeakyRelu": lambda x, alpha=0.01: np.where(x >= 0, x, alpha * x),
    "Tanh": np.tanh,
    "Sigmoid": sigmoid,
    "Erf": lambda x: np.vectorize(math.erf)(x),
    "Add": np.add,
    "Mul": np.multiply,
    "Div": np.divide,
    "Flatten": lambda x, axis=1: x.reshape(int(np.prod(x.shape[:axis])), -1),
    "GlobalAveragePool": lambda x: x.mean(axis=tuple(range(2, x.ndim)), keepdims=True),
    "Gemm": gemm,
    "Conv": conv,
    "MaxPool": max_pool,
    "AveragePool": average_pool,
    "BatchNormalization": batch_norm,
    "Transpose": lambda x, perm: np.transpose(x, perm),
    "Squeeze": lambda x, axes: np.squeeze(x, axis=tuple(int(a) for a in axes)),
    "Concat": lambda *xs, axis: np.concatenate(xs, axis=axis),
    "LSTM": lstm,
    "GRU": gru,
}


def as_float64(a):
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def run(model, x):
    """The graph's single output for input x, computed in float64."""
    g = model.graph
    env = {t.name: as_float64(numpy_helper.to_array(t)) for t in g.initializer}
    env[g.input[0].name] = as_float64(x)
    for node in g.node:
        if node.op_type not in OPS:
            raise AssertionError(f"node {node.name}: no reference for op {node.op_type}")
        attrs = {a.name: (as_float64(numpy_helper.to_array(a.t))
                          if a.type == onnx.AttributeProto.TENSOR else onnx.helper.get_attribute_value(a))
                 for a in node.attribute}
        ins = [env[i] if i else None for i in node.input]
        while ins and ins[-1] is None:
            ins.pop()
        out = OPS[node.op_type](*ins, **attrs)
        outs = out if isinstance(out, tuple) else (out,)
        for name, value in zip(node.output, outs):
            if name:
                env[name] = value
    return env[g.output[0].name]


def check_model(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["input"], "graph input must be 'input'"
    assert [o.name for o in model.graph.output] == ["output"], "graph output must be 'output'"
    assert model.opset_import[0].version == 13
    return model


def check_cases(generator, directory):
    env = dict(os.environ, XNAS_ONNX_CASES=directory, OPENBLAS_NUM_THREADS="1")
    subprocess.run([generator, "[.onnx_cases]"], env=env, check=True, stdout=subprocess.DEVNULL)
    failures = 0
    for case in CASES:
        base = os.path.join(directory, case)
        try:
            model = check_model(base + ".onnx")
            x, want = np.load(base + ".input.npy"), np.load(base + ".output.npy")
            got = run(model, x)
            assert got.shape == want.shape, f"output shape {got.shape}, xnas {want.shape}"
            err = float(np.max(np.abs(got - want))) if want.size else 0.0
            assert err <= TOLERANCE, f"max |onnx - xnas| = {err:.3g} > {TOLERANCE}"
            ops = sorted({n.op_type for n in model.graph.node})
            print(f"ok   {case}: max |onnx - xnas| = {err:.2g}; ops {', '.join(ops)}")
        except Exception as e:  # report every case, then fail
            failures += 1
            print(f"FAIL {case}: {type(e).__name__}: {e}")
    return failures


def check_search_model(path, classes):
    model = check_model(path)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    x = np.random.default_rng(0).standard_normal([2] + dims).astype(np.float32)
    y = run(model, x)
    assert y.shape == (2, classes) and np.all(np.isfinite(y)), f"output {y.shape}: {y}"
    print(f"ok   {path}: input (N, {', '.join(map(str, dims))}), output (N, {classes}), "
          f"{len(model.graph.node)} nodes")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "cases":
        sys.exit(1 if check_cases(sys.argv[2], sys.argv[3]) else 0)
    if len(sys.argv) == 4 and sys.argv[1] == "model":
        sys.exit(check_search_model(sys.argv[2], int(sys.argv[3])))
    sys.exit(__doc__)
