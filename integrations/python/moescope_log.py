"""moescope_log: write a PyTorch job's router statistics for `moescope watch`.

One file, no dependency beyond torch. Per call it reduces each layer's router
logits on the device to O(E) numbers (tokens per expert, mean router
probability, router entropy, z-loss, balance loss), moves only those to the
host in one copy, and appends one JSON line per layer (the record format of
docs/formats/routerlog.md).

    from moescope_log import RouterLog
    log = RouterLog("runs/mixtral/router.jsonl", top_k=2)
    out = model(**batch, output_router_logits=True)      # Hugging Face
    log.log(step, out.router_logits)                     # tuple of [tokens, E] logits, one per layer

On a multi-rank job each rank writes rank{R}.jsonl in the directory `path`
(give a directory), or with all_reduce=True the counts are summed onto rank 0,
which alone writes `path`.
"""
from __future__ import annotations

import json
import math
import os
import time
from typing import Iterable, Optional, Sequence, Union

import torch

FORMAT = "moescope-routerlog"
VERSION = 1

Tensors = Union[torch.Tensor, Sequence[torch.Tensor]]


def _as_layers(x: Optional[Tensors]) -> Optional[list]:
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        return [x] if x.dim() == 2 else list(x.unbind(0))
    return [t for t in x if t is not None]


class RouterLog:
    """Appends router statistics to a moescope router log."""

    def __init__(self, path: str, top_k: int = 1, *, framework: str = "pytorch", model: str = "",
                 all_reduce: bool = False, check_logits: bool = True):
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        self.top_k = top_k
        self.framework = framework
        self.model = model
        self.check_logits = check_logits
        dist = torch.distributed
        self._dist = dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self._dist else 0
        self.all_reduce = all_reduce and self._dist
        if self._dist and not self.all_reduce:
            os.makedirs(path, exist_ok=True)
            path = os.path.join(path, f"rank{self.rank}.jsonl")
        self.path = path
        self._file = None
        self._layers = None
        self._experts = None

    def _writer(self):
        if self._file is None:
            parent = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(parent, exist_ok=True)
            new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
            self._file = open(self.path, "a", encoding="utf-8")
            if new:
                header = {"format": FORMAT, "version": VERSION, "experts": self._experts, "layers": self._layers,
                          "top_k": self.top_k, "framework": self.framework}
                if self.model:
                    header["model"] = self.model
                self._file.write(json.dumps(header) + "\n")
        return self._file

    @torch.no_grad()
    def stats(self, router_logits: Tensors, top_k: Optional[int] = None,
              indices: Optional[Tensors] = None) -> torch.Tensor:
        """Per-layer statistics as one [layers, 2E + 6] tensor on the logits' device:
        counts, mean_prob, router_entropy, z_loss, aux_loss, tokens, max_abs_logit,
        looks_like_probabilities (1.0 when every row is ≥ 0 and sums to 1)."""
        k = top_k or self.top_k
        layers = _as_layers(router_logits)
        if not layers:
            raise ValueError("router_logits holds no layer")
        picks = _as_layers(indices)
        if picks is not None and len(picks) != len(layers):
            raise ValueError(f"indices has {len(picks)} layers, router_logits {len(layers)}")
        rows = []
        for i, z in enumerate(layers):
            z = z.reshape(-1, z.shape[-1]).float()
            tokens, experts = z.shape
            # A router that hands back probabilities (rows ≥ 0 summing to 1) breaks the
            # entropy and the z-loss (Hugging Face once returned softmaxed values). The
            # check stays on the device; log() reads it with the one host copy.
            looks_prob = ((z >= 0).all() & ((z.sum(-1) - 1).abs() < 1e-3).all()).float() \
                if self.check_logits and tokens > 0 else torch.zeros((), device=z.device)
            p = torch.softmax(z, dim=-1)
            chosen = picks[i].reshape(-1) if picks is not None else torch.topk(z, k, dim=-1).indices.reshape(-1)
            counts = torch.bincount(chosen.long(), minlength=experts).float()[:experts]
            mean_prob = p.mean(0)
            entropy = -(p * torch.log(p.clamp_min(1e-30))).sum(-1).mean() / math.log(experts) if experts > 1 \
                else torch.ones((), device=z.device)
            z_loss = (torch.logsumexp(z, dim=-1) ** 2).mean()
            aux = experts * (counts / max(tokens * k, 1) * mean_prob).sum()
            max_abs = z.abs().max() if tokens > 0 else torch.zeros((), device=z.device)
            tail = torch.stack([entropy, z_loss, aux, torch.tensor(float(tokens), device=z.device), max_abs,
                                looks_prob])
            rows.append(torch.cat([counts, mean_prob, tail]))
        return torch.stack(rows)

    def log(self, step: int, router_logits: Tensors, top_k: Optional[int] = None,
            indices: Optional[Tensors] = None) -> None:
        """Appends one record per layer for `step`."""
        k = top_k or self.top_k
        s = self.stats(router_logits, top_k, indices)
        layers, width = s.shape
        experts = (width - 6) // 2
        tail = 2 * experts  # entropy, z_loss, aux, tokens, max_abs_logit, looks_prob
        if self.all_reduce:
            # Per-token means merge weighted by each rank's tokens: sum(T_r · x_r) / sum(T_r).
            t = s[:, tail + 3:tail + 4].clone()
            s[:, experts:2 * experts] *= t
            s[:, tail:tail + 2] *= t
            peak = s[:, tail + 4:tail + 6].clone()
            torch.distributed.reduce(s, dst=0)
            torch.distributed.reduce(peak, dst=0, op=torch.distributed.ReduceOp.MAX)
            total = s[:, tail + 3:tail + 4].clamp_min(1)
            s[:, experts:2 * experts] /= total
            s[:, tail:tail + 2] /= total
            s[:, tail + 4:tail + 6] = peak
            # the balance loss of the merged counts and probabilities, as one rank would compute it
            s[:, tail + 2] = experts * (s[:, :experts] / (total * k) * s[:, experts:2 * experts]).sum(-1)
            if self.rank != 0:
                return
        host = s.cpu().tolist()  # the one device → host copy: layers × (2E + 6) numbers
        for layer, row in enumerate(host):
            if self.check_logits and row[tail + 5] > 0.5:
                raise ValueError(f"layer {layer}: router_logits look like probabilities (every row sums to 1); "
                                 "pass the logits from before the softmax")
        host = [[v if math.isfinite(v) else None for v in row] for row in host]  # JSON has no inf or NaN
        self._layers, self._experts = layers, experts
        f = self._writer()
        now = time.time()
        for layer, row in enumerate(host):
            rec = {"step": int(step), "layer": layer, "counts": [int(round(c)) for c in row[:experts]],
                   "mean_prob": row[experts:2 * experts], "router_entropy": row[tail],
                   "z_loss": row[tail + 1], "aux_loss": row[tail + 2], "tokens": int(row[tail + 3] or 0),
                   "max_abs_logit": row[tail + 4], "time": now}
            if self._dist and not self.all_reduce:
                rec["rank"] = self.rank
            f.write(json.dumps(rec) + "\n")
        f.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def hf_router_logits(outputs) -> Iterable[torch.Tensor]:
    """The router logits of a Hugging Face MoE model's output (model called with
    output_router_logits=True), e.g. Mixtral, Qwen-MoE, OLMoE."""
    logits = getattr(outputs, "router_logits", None)
    if logits is None:
        raise ValueError("the model output has no router_logits: call the model with output_router_logits=True")
    return logits
