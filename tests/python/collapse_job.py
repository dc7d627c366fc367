"""A tiny PyTorch MoE whose router is made to collapse, logged with moescope_log.

usage: collapse_job.py OUT.jsonl [--steps N] [--collapse-at S] [--sleep SECONDS]

Trains a 2-layer top-1 MoE (8 experts) on random regression. From step S on,
an extra loss term rewards expert 0's router logit, so within a few steps
nearly every token goes to expert 0: the collapse that `moescope-cli watch`
must report. Deterministic (seeded); CPU only.
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "integrations", "python"))
from moescope_log import RouterLog  # noqa: E402

E, D, LAYERS = 8, 16, 2


class MoE(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.router = torch.nn.Linear(D, E, bias=False)
        self.experts = torch.nn.ModuleList(torch.nn.Linear(D, D) for _ in range(E))

    def forward(self, x):
        z = self.router(x)
        gate, idx = torch.softmax(z, -1).max(-1)
        out = torch.zeros_like(x)
        for e in range(E):
            sel = idx == e
            if sel.any():
                out[sel] = self.experts[e](x[sel]) * gate[sel, None]
        return x + out, z


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--collapse-at", type=int, default=40)
    ap.add_argument("--sleep", type=float, default=0.0)
    a = ap.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(1)
    blocks = torch.nn.ModuleList(MoE() for _ in range(LAYERS))
    opt = torch.optim.SGD(blocks.parameters(), lr=0.05)
    target = torch.nn.Linear(D, D)
    log = RouterLog(a.out, top_k=1, framework="hf", model="collapse_job")
    for step in range(1, a.steps + 1):
        x = torch.randn(256, D)
        x[:, 0] = 1.0  # a constant feature: through it a router can prefer one expert for every token
        with torch.no_grad():
            y = target(x)
        h, logits = x, []
        for b in blocks:
            h, z = b(h)
            logits.append(z)
        loss = torch.nn.functional.mse_loss(h, y)
        if step >= a.collapse_at:
            # made to collapse: reward routing to expert 0 (bounded: log p_0 saturates at 0)
            loss = loss - 0.5 * sum(torch.log_softmax(z, -1)[:, 0].mean() for z in logits)
        opt.zero_grad()
        loss.backward()
        opt.step()
        log.log(step, tuple(z.detach() for z in logits))
        if a.sleep:
            time.sleep(a.sleep)
    log.close()


if __name__ == "__main__":
    main()
