"""Checks of integrations/python/moescope_log.py run by tests/cli/test_cli_watch.cpp.

    logger_checks.py LOG   writes LOG: 4 layers × 8 experts, 6 steps, layer 1's
                           logits NaN from step 4 on (a diverging router), and
                           fails unless each log() call copies to the host once
                           (no per-layer sync from the probability check).
"""
import sys

import torch

sys.path.insert(0, __file__.rsplit("/tests/", 1)[0] + "/integrations/python")
from moescope_log import RouterLog  # noqa: E402

syncs = 0


def counting(name):
    original = getattr(torch.Tensor, name)

    def wrapper(self, *a, **kw):
        global syncs
        syncs += 1
        return original(self, *a, **kw)

    setattr(torch.Tensor, name, wrapper)


for name in ("__bool__", "item", "tolist", "cpu", "numpy"):
    counting(name)

torch.manual_seed(0)
log = RouterLog(sys.argv[1], top_k=2)
for step in range(1, 7):
    logits = [torch.randn(64, 8) for _ in range(4)]
    if step >= 4:
        logits[1][:] = float("nan")
    before = syncs
    log.log(step, logits)
    # one .cpu() and the .tolist() of the host copy: no device sync per layer
    if syncs - before > 2:
        sys.exit(f"step {step}: {syncs - before} host copies or syncs in one log() call")
log.close()
