#!/usr/bin/env python3
"""Writes the hand-made seeds of the fuzz corpora (corpus/<target>/seed-*): a few valid inputs
of each reader and a few near misses. The journal and nn_load corpora also hold files the library
wrote (a search's journal, saved networks), kept as they are; findings are added as crash-*.

    python3 tests/fuzz/make_corpus.py [corpus directory]
"""
import gzip
import os
import struct
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# json
put("json", "object", '{"a":[1,-2,3.5e-3,true,false,null],"b":{"c":"\\u00e9\\n\\ud83d\\ude00"}}')
put("json", "numbers", "[0,-0,1e308,-9223372036854775808,18446744073709551615,1.5E+2]")
put("json", "nested", "[" * 40 + "]" * 40)
put("json", "bad-trailing", '{"a":1,}')
put("json", "bad-escape", '"\\x41"')
put("json", "bad-utf8", b'"\xff\xfe"')

# journal: the valid ones are journal-*.jsonl, written by a search
START = ('{"event":"start","format":"xnas-journal","version":1,"seed":1,'
         '"objectives":[{"name":"val_accuracy","direction":"maximize"}]}\n')
put("journal", "torn-tail", START + '{"event":"ask","id":0,"archi')
put("journal", "corrupt-line", START + "not json\n")
put("journal", "result-without-ask",
    START + '{"event":"result","id":7,"status":"ok","objectives":{"val_accuracy":0.5},"cost":0}\n')
put("journal", "bad-arch",
    START + '{"event":"ask","id":0,"architecture":"conv(k=4)+","fidelity":1.0,"parents":[]}\n'
    '{"event":"result","id":0,"status":"ok","message":"","objectives":{"val_accuracy":0.5},'
    '"metrics":{},"cost":0.0}\n')
put("journal", "wrong-types", '{"event":"ask","id":"x"}\n{"event":"result","id":-1,"cost":"a"}\n')


# idx: byte 0 is the mode (bit 0 gzip, bit 1 image/label pair)
def idx(type_byte, dims, payload):
    return bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


images = idx(8, [3, 2, 2], bytes(range(12)))
labels = idx(8, [3], bytes([0, 1, 2]))
put("idx", "u8", b"\x00" + images)
put("idx", "f32", b"\x00" + idx(0x0D, [2], struct.pack(">ff", 1.5, -2.0)))
put("idx", "i16-gzip", b"\x01" + idx(0x0B, [2, 1], struct.pack(">hh", -3, 4)))
put("idx", "truncated", b"\x00" + idx(8, [4, 4], bytes(5)))
put("idx", "huge-dims", b"\x00" + idx(8, [0xFFFFFFFF, 0xFFFFFFFF], b""))
put("idx", "bad-type", b"\x00" + bytes([0, 0, 7, 1, 0, 0, 0, 1, 9]))
put("idx", "corrupt-gzip", b"\x00" + gzip.compress(images, mtime=0)[:-6] + b"\x00\x01")
pair = bytes([10]) + struct.pack("<H", len(labels)) + labels + images
put("idx", "pair", b"\x02" + pair)
put("idx", "pair-gzip", b"\x03" + pair)
put("idx", "pair-bad-label", b"\x02" + bytes([2]) + struct.pack("<H", len(labels)) + labels + images)
put("idx", "pair-i32-labels", b"\x02" + bytes([0]) + struct.pack("<H", 16) +
    idx(0x0C, [2], struct.pack(">ii", 1, 0x7FFFFFFF)) + idx(8, [2, 1, 1], b"\x00\xff"))

# npy: a whole .npy file (NumPy's header, padded so that the data starts at a multiple of 64)
def npy(descr, shape, payload, fortran=False, major=1):
    dims = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    quoted = descr if descr.startswith("[") else "'%s'" % descr
    header = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (quoted, fortran, dims)
    prefix = 10 if major == 1 else 12
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H" if major == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + size + header.encode() + payload


put("npy", "f4", npy("<f4", [2, 3], struct.pack("<6f", 1.5, -2, 0, 3e-8, 7, 8)))
put("npy", "i8-labels", npy("<i8", [4], struct.pack("<4q", 0, 2, 1, 2)))
put("npy", "u1-images", npy("|u1", [2, 2, 2], bytes([0, 255, 51, 102, 1, 2, 3, 4])))
put("npy", "be-fortran", npy(">i2", [2, 3], struct.pack(">6h", 1, 400, -2, -500, 3, 32767),
                             fortran=True))
put("npy", "v2-f8", npy("<f8", [2, 1], struct.pack("<2d", 0.5, -1), major=2))
put("npy", "v3-bool", npy("|b1", [3], bytes([1, 0, 2]), major=3))
put("npy", "scalar", npy("<f8", [], struct.pack("<d", 4.5)))
put("npy", "object", npy("|O", [1], bytes(8)))
put("npy", "structured", npy("[('a', '<f4')]", [1], bytes(4)))
put("npy", "huge-shape", npy("<f8", [1 << 40, 1 << 40], b""))
put("npy", "truncated", npy("<i4", [3], struct.pack("<2i", 1, 2)))

# cifar: byte 0 is the mode (bit 0 CIFAR-100, bit 1 coarse labels, bit 2 gzip, bit 3 a folder)
def cifar_batch(labels, seed=0):
    out = b""
    for i, lab in enumerate(labels):
        out += bytes(lab) + bytes((seed * 101 + i * 31 + k) % 256 for k in range(3072))
    return out


c10 = cifar_batch([[3], [9]])
c100 = cifar_batch([[19, 99], [0, 5]], 1)
put("cifar", "c10", b"\x00" + c10)
put("cifar", "c10-gzip", b"\x04" + c10)
put("cifar", "c100-fine", b"\x01" + c100)
put("cifar", "c100-coarse", b"\x03" + c100)
put("cifar", "c10-bad-label", b"\x00" + cifar_batch([[3], [10]]))
put("cifar", "c10-bad-size", b"\x00" + c10 + b"\x00\x01\x02")
names10 = b"".join(b"class%d\n" % i for i in range(10))
put("cifar", "c10-folder", b"\x08" + struct.pack("<H", len(names10)) + names10 + c10)
names20 = b"".join(b"super%d\r\n" % i for i in range(20))
put("cifar", "c100-folder-coarse", b"\x0b" + struct.pack("<H", len(names20)) + names20 + c100)

# csv: the label column of to_dataset and the columns of xnas-tabular's NAS-Bench-201 table
put("csv", "dataset", "a,b,label\n1,2.5,0\n-3,1e3,1\n")
put("csv", "text-labels", 'x,label\n1,"cat"\n2,dog\r\n3,"say ""hi"""\n')
put("csv", "tabular",
    "arch,val_acc_12,val_acc_200,train_time_12,train_time_200\n"
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10.5,12.5,30,400\n"
    "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|,20,25,31,401\n")
put("csv", "unclosed-quote", 'a,b\n"1,2\n')
put("csv", "ragged", "a,b\n1\n")
put("csv", "label-int32-max", "x,label\n1,2147483647\n2,0\n")
put("csv", "bom-crlf", "\ufeffarch,val_acc,train_time\r\nx,1,2\r\nx,3,4\r\n")

# config: xnas-search's --config (TOML name = value lines)
put("config", "recipe", 'space = "chain"\nstrategy = "tpe"\ntrials = 10\nepochs = 2\nseed = 7\n'
    'objectives = ["val_accuracy", "params"]\nvalidation-fraction = 0.2\n')
put("config", "cell", "space=cell\nstrategy=evolution\nminutes=1.5\nworkers=2\nasync=true\n")
put("config", "unknown-key", "minuts = 30\n")
put("config", "bad-value", "trials = -3\n")
put("config", "section", "[section]\nepochs = 1\n")

# space: byte 0 chooses the space (0 chain, 1 rnn, 2 cell, 3 chain x training parameters)
put("space", "chain", "\x00conv(k=3,c=64,act=relu,bn=1,pool=none)|conv(k=5,c=16,act=relu,bn=1,"
    "pool=avg,skip=0)+dense(w=128,act=gelu,drop=0.5)")
put("space", "rnn", "\x01lstm(h=32)|gru(h=32)+dense(w=256,act=relu,drop=0.2)")
put("space", "cell", "\x02|none~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|"
    "nor_conv_1x1~2|")
put("space", "product", "\x03conv(k=5,c=32,act=relu,bn=1,pool=avg)+dense(w=32,act=relu,drop=0.2)"
    " ; optimizer=sgd;lr=0.0005853519425075989;batch_size=64")
put("space", "chain-bad-choice", "\x00conv(k=4,c=64,act=relu,bn=1,pool=none)+")
put("space", "cell-bad-edge", "\x02|none~3|+|none~0|none~1|+|none~0|none~1|none~2|")

# nn_load: the valid ones are model-*.xnas, written by nn::save
put("nn_load", "not-json", "{nope\n")
put("nn_load", "huge-payload",
    '{"format":"xnas-network","version":1,"value_type":"float32","byte_order":"little",'
    '"input_shape":[2],"nodes":[],"tensors":[],"payload_bytes":18446744073709551615,'
    '"payload_crc32":"00000000"}\n')
