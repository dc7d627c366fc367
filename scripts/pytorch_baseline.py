#!/usr/bin/python3
"""The bench config of `moescope-cli bench` written the way one would in PyTorch:
d_in 64, d_model 256, d_ff 1024, 16 experts, top-2 softmax routing (gates
renormalised over the chosen two), 2 residual MoE blocks with RMSNorm, GELU
(tanh) experts, 4096 tokens per step, AdamW, aux loss 1e-2, dropless.
Tokens are grouped per expert (index_select / index_add_), one matmul per
expert, as in moescope. Prints median ms per step and tokens/s, and which BLAS
and kernel ran.

By default it runs at PyTorch's best setting on a small machine (measured, see
docs/performance.md): 1 torch thread, the BLAS's own kernels for this CPU
(OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from the environment before
torch loads its BLAS), and BLAS threads = cores, or 1 when that is faster (on
a busy machine it is: spinning BLAS threads wait for a core). Both are timed in
this process and the faster one reported; --blas-threads N times only N.

    /usr/bin/python3 scripts/pytorch_baseline.py [--torch-threads N]
        [--blas-threads N] [--keep-coretype] [--steps N] [--json] [--lm JSON]

--lm '{"d_model":128,"heads":4,"layers":2,"experts":8,"top_k":2,"d_ff":256,
"context":128,"batch_tokens":2048,"vocab":65}' times the MoE language model
instead (`moescope-cli bench --set model=transformer`): token and position
embeddings, per layer pre-RMSNorm causal attention (torch.nn.MultiheadAttention,
bias-free) then the same MoE block, final RMSNorm, head, next-token
cross-entropy, AdamW, on random token ids.

Needs Debian's python3-torch (not installed by the project's scripts):
    apt-get install python3-torch && /usr/bin/python3 scripts/pytorch_baseline.py
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

ap = argparse.ArgumentParser(description="PyTorch baseline of moescope's bench config")
ap.add_argument("--torch-threads", type=int, default=1, help="torch.set_num_threads (default 1)")
CORES = len(os.sched_getaffinity(0))
ap.add_argument("--blas-threads", type=int,
                help="BLAS threads (default: the faster of cores and 1)")
ap.add_argument("--keep-coretype", action="store_true",
                help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE from the environment")
ap.add_argument("--steps", type=int, default=8, help="steps; the first two are warm-up (default 8)")
ap.add_argument("--json", action="store_true", help="print one JSON line")
ap.add_argument("--lm", help="time the MoE language model of this shape (JSON) instead of the bench config")
args = ap.parse_args()
if args.torch_threads < 1 or (args.blas_threads is not None and args.blas_threads < 1) or args.steps < 3:
    sys.exit("error: --torch-threads and --blas-threads must be >= 1, --steps >= 3")

# The BLAS reads these when it loads, i.e. at `import torch`.
if not args.keep_coretype:
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        os.environ.pop(var, None)
blas_settings = [args.blas_threads] if args.blas_threads else sorted({CORES, 1}, reverse=True)
for var in ("OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(blas_settings[0])

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    if args.json:
        print(json.dumps({"skipped": f"no torch for {sys.executable} ({e})"}))
        sys.exit(0)
    sys.exit(f"error: {e}: install python3-torch and run with /usr/bin/python3")


def blas_in_use():
    """(name, kernel, path, set_threads) of the BLAS library this process loaded;
    set_threads(n) changes its thread count (None when it cannot)."""
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            base = os.path.basename(path)
            if base.startswith(("libblas", "libopenblas", "libblis", "libmkl_rt", "libcblas")):
                paths.add(os.path.realpath(path))
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        if hasattr(lib, "openblas_get_corename"):
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            config = lib.openblas_get_config().decode().split()
            name = " ".join(config[:2]) if config else "OpenBLAS"
            return name, lib.openblas_get_corename().decode(), path, lib.openblas_set_num_threads
    if paths:
        path = sorted(paths)[0]
        return os.path.basename(path), "", path, None
    return "none found", "", "", None


T, D_IN, D, FF, E, K, L, CLASSES = 4096, 64, 256, 1024, 16, 2, 2, 10
LM = json.loads(args.lm) if args.lm else None
if LM:
    T, D, FF, E, K, L, CLASSES = (LM["batch_tokens"], LM["d_model"], LM["d_ff"], LM["experts"], LM["top_k"],
                                  LM["layers"], LM["vocab"])
    HEADS, CONTEXT = LM["heads"], LM["context"]
torch.manual_seed(1)
torch.set_num_threads(args.torch_threads)


class RMSNorm(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.g = torch.nn.Parameter(torch.ones(d))

    def forward(self, x):
        return self.g * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)


class MoE(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = RMSNorm(D)
        self.router = torch.nn.Linear(D, E, bias=False)
        torch.nn.init.normal_(self.router.weight, std=0.01)
        self.w1 = torch.nn.Parameter(torch.randn(E, D, FF) / D ** 0.5)
        self.b1 = torch.nn.Parameter(torch.zeros(E, FF))
        self.w2 = torch.nn.Parameter(torch.randn(E, FF, D) / FF ** 0.5)
        self.b2 = torch.nn.Parameter(torch.zeros(E, D))

    def forward(self, h):
        u = self.norm(h)
        z = self.router(u)
        p = z.softmax(-1)
        top_v, top_i = z.topk(K, dim=-1)
        gates = top_v.softmax(-1)
        # f_i: share of assignments per expert (no gradient); P_i: mean probability
        f = torch.bincount(top_i.flatten(), minlength=E).float() / (T * K)
        aux = E * (f * p.mean(0)).sum()
        out = torch.zeros_like(u)
        flat_i, flat_g = top_i.flatten(), gates.flatten()
        tok = torch.arange(T).repeat_interleave(K)
        order = torch.argsort(flat_i, stable=True)
        counts = torch.bincount(flat_i, minlength=E).tolist()
        start = 0
        for e, n in enumerate(counts):
            if n == 0:
                continue
            idx = order[start:start + n]
            start += n
            t = tok[idx]
            x = u.index_select(0, t)
            y = F.gelu(x @ self.w1[e] + self.b1[e], approximate="tanh") @ self.w2[e] + self.b2[e]
            out.index_add_(0, t, y * flat_g[idx].unsqueeze(1))
        return h + out, aux


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Linear(D_IN, D)
        self.blocks = torch.nn.ModuleList(MoE() for _ in range(L))
        self.norm = RMSNorm(D)
        self.head = torch.nn.Linear(D, CLASSES)

    def forward(self, x):
        h, aux = self.embed(x), 0.0
        for b in self.blocks:
            h, a = b(h)
            aux = aux + a
        return self.head(self.norm(h)), aux / L


class LmNet(torch.nn.Module):
    """The MoE language model: each block is causal attention, then the MoE block above."""

    def __init__(self):
        super().__init__()
        self.tok = torch.nn.Embedding(CLASSES, D)
        self.pos = torch.nn.Parameter(torch.randn(CONTEXT, D) * 0.1)
        self.attn_norms = torch.nn.ModuleList(RMSNorm(D) for _ in range(L))
        self.attns = torch.nn.ModuleList(
            torch.nn.MultiheadAttention(D, HEADS, bias=False, batch_first=True) for _ in range(L))
        self.blocks = torch.nn.ModuleList(MoE() for _ in range(L))
        self.norm = RMSNorm(D)
        self.head = torch.nn.Linear(D, CLASSES)
        self.register_buffer("mask", torch.triu(torch.ones(CONTEXT, CONTEXT, dtype=torch.bool), diagonal=1))

    def forward(self, x):
        h, aux = (self.tok(x) + self.pos).reshape(T, D), 0.0  # x: sequences x CONTEXT token ids
        for norm, attn, b in zip(self.attn_norms, self.attns, self.blocks):
            u = norm(h).reshape(-1, CONTEXT, D)
            y, _ = attn(u, u, u, attn_mask=self.mask, need_weights=False)
            h, a = b(h + y.reshape(T, D))
            aux = aux + a
        return self.head(self.norm(h)), aux / L


net = LmNet() if LM else Net()
opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.0)
x = torch.randint(0, CLASSES, (T // CONTEXT, CONTEXT)) if LM else torch.randn(T, D_IN)
y = torch.randint(0, CLASSES, (T,))


def time_steps():
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        logits, aux = net(x)
        loss = F.cross_entropy(logits, y) + 1e-2 * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[2:]) * 1000


blas, kernel, blas_path, set_blas_threads = blas_in_use()
if set_blas_threads is None:
    blas_settings = blas_settings[:1]  # the thread count the environment gave it
settings = []
for n in blas_settings:
    if set_blas_threads is not None:
        set_blas_threads(n)
    settings.append({"blas_threads": n, "ms_per_step": time_steps()})
best = min(settings, key=lambda s: s["ms_per_step"])
ms = best["ms_per_step"]
result = {
    "torch": torch.__version__,
    "torch_threads": torch.get_num_threads(),
    "blas": blas,
    "blas_kernel": kernel,
    "blas_path": blas_path,
    "blas_threads": best["blas_threads"],
    "settings": settings,
    "coretype_env": {v: os.environ[v] for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ},
    "model": "transformer" if LM else "mlp",
    "steps": args.steps - 2,
    "ms_per_step": ms,
    "tokens_per_s": T / ms * 1000,
}
if args.json:
    print(json.dumps(result))
else:
    tried = ", ".join(f"{s['blas_threads']} BLAS threads {s['ms_per_step']:.1f} ms" for s in settings)
    print(f"pytorch {torch.__version__}, {result['torch_threads']} torch threads, {blas} {kernel} "
          f"({best['blas_threads']} BLAS threads): {ms:.1f} ms/step, {result['tokens_per_s']:.0f} tokens/s"
          f"  [{tried}]")
