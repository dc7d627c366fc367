#!/usr/bin/python3
"""The bench config of `moescope-cli bench` written the way one would in PyTorch:
d_in 64, d_model 256, d_ff 1024, 16 experts, top-2 softmax routing (gates
renormalised over the chosen two), 2 residual MoE blocks with RMSNorm, GELU
(tanh) experts, 4096 tokens per step, AdamW, aux loss 1e-2, dropless.
Tokens are grouped per expert (index_select / index_add_), one matmul per
expert, as in moescope. Prints median ms per step and tokens/s.

Needs Debian's python3-torch (not installed by the project's scripts):
    apt-get install python3-torch && /usr/bin/python3 scripts/pytorch_baseline.py
"""
import statistics
import sys
import time

import torch
import torch.nn.functional as F

T, D_IN, D, FF, E, K, L, CLASSES = 4096, 64, 256, 1024, 16, 2, 2, 10
torch.manual_seed(1)
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)


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


net = Net()
opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.0)
x = torch.randn(T, D_IN)
y = torch.randint(0, CLASSES, (T,))
times = []
for step in range(8):
    t0 = time.perf_counter()
    logits, aux = net(x)
    loss = F.cross_entropy(logits, y) + 1e-2 * aux
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    times.append(time.perf_counter() - t0)
ms = statistics.median(times[2:]) * 1000
print(f"pytorch {torch.__version__}, {torch.get_num_threads()} threads: {ms:.1f} ms/step, {T / ms * 1000:.0f} tokens/s")
