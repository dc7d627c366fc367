#!/usr/bin/env python3
"""PyTorch's own causal multi-head attention as the reference for
core/nn/attention.hpp (tests/core/nn/test_attention.cpp).

Reads JSON on stdin: d, heads, batch, len and the column-major arrays Wq, Wk,
Wv, Wo (d x d), x and R (d x batch*len; sequence b is columns b*len..). Runs
torch.nn.MultiheadAttention (bias=False, batch_first, a causal attn_mask) in
float64 on x, takes the loss sum(R * y) and writes JSON on stdout: y and the
gradients of Wq, Wk, Wv, Wo and x, in the same column-major layout.
"""
import json
import sys

import numpy as np
import torch


def main():
    a = json.load(sys.stdin)
    d, heads, batch, length = a["d"], a["heads"], a["batch"], a["len"]
    T = batch * length
    w = {k: torch.tensor(np.array(a[k]).reshape(d, d, order="F")) for k in ("Wq", "Wk", "Wv", "Wo")}
    x = torch.tensor(np.array(a["x"]).reshape(d, T, order="F").T.reshape(batch, length, d).copy(), requires_grad=True)
    r = torch.tensor(np.array(a["R"]).reshape(d, T, order="F").T.reshape(batch, length, d).copy())

    mha = torch.nn.MultiheadAttention(d, heads, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([w["Wq"], w["Wk"], w["Wv"]], 0))
        mha.out_proj.weight.copy_(w["Wo"])
    mask = torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)  # True: may not attend
    y, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
    (y * r).sum().backward()

    g = mha.in_proj_weight.grad
    col = lambda m: m.detach().T.reshape(-1).tolist()  # a d x d matrix, column-major
    tok = lambda t: t.detach().reshape(T, d).reshape(-1).tolist()  # tokens as columns, column-major
    json.dump({"y": tok(y), "Wq": col(g[:d]), "Wk": col(g[d:2 * d]), "Wv": col(g[2 * d:]),
               "Wo": col(mha.out_proj.weight.grad), "x": tok(x.grad)}, sys.stdout)


if __name__ == "__main__":
    main()
