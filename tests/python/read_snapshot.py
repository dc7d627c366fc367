#!/usr/bin/env python3
"""Reads a moescope snapshot (.moesnap) with numpy alone: it is the safetensors
layout (u64 header length, JSON header, raw little-endian tensors).

    python3 read_snapshot.py run.moesnap layer0.experts.W1 1 2 3

prints the step, the preset, the tensor's shape and the value at that index as
JSON; tests/cli/test_cli_snapshot.cpp compares them with the C++ side.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "I32": "<i4"}


def read_moesnap(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__")
    data = raw[8 + n :]
    tensors = {
        name: np.frombuffer(data[t["data_offsets"][0] : t["data_offsets"][1]], DTYPES[t["dtype"]]).reshape(t["shape"])
        for name, t in header.items()
    }
    return tensors, meta


if __name__ == "__main__":
    tensors, meta = read_moesnap(sys.argv[1])
    tensor = tensors[sys.argv[2]]
    index = tuple(int(i) for i in sys.argv[3:])
    loss = tensors["history/loss"]  # row 0 steps, row 1 values
    print(json.dumps({
        "step": int(meta["step"]),
        "preset": json.loads(meta["config"])["name"],
        "shape": list(tensor.shape),
        "value": float(tensor[index]),
        "last_loss_step": int(loss[0, -1]),
    }))
