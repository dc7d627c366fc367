#!/usr/bin/env python3
"""The MoE language model of docs/lm.md written in PyTorch, float64, as the
reference for core/nn/model.cpp's transformer (tests/core/nn/test_lm_parity.cpp).

Reads JSON on stdin:
  d, heads, layers, experts, top_k, d_ff, context, vocab, aux_weight, z_weight;
  params: {name: {"rows", "cols", "data" (column-major)}} with moescope's names
    (embed.W d x vocab, embed.b, embed.pos d x context, layerN.attn.norm.g,
    layerN.attn.Wq/Wk/Wv/Wo, layerN.norm.g, layerN.router.W E x d,
    layerN.experts.W1 d_ff x (E*d), b1 d_ff x E, W2 d x (E*d_ff), b2 d x E,
    head.norm.g, head.W vocab x d, head.b);
  tokens, labels: T = batch * context ids, sequence b at positions b*context...
Writes JSON on stdout: loss, ce and the gradient of every parameter, same layout.

The model: h = E[:, token] + b + P[:, position]; per layer
  h = h + MHA(RMSNorm_a(h)) (torch.nn.MultiheadAttention, bias-free, causal mask)
  u = RMSNorm(h); z = W_r u; p = softmax(z); the top_k experts of z per token;
  gates: softmax of the chosen logits (k > 1) or p itself (k = 1, Switch);
  h = h + sum_chosen gate * (W2_e gelu_tanh(W1_e u + b1_e) + b2_e)
then logits = W_out RMSNorm(h) + b_out; loss = CE + (aux_weight * balance +
z_weight * z_loss) / layers, balance = E * sum_i f_i * mean_t p_ti with f_i the
share of assignments (a constant), z_loss = mean_t logsumexp(z_t)^2.
"""
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-6  # core/nn/ops.hpp kRmsEps


def rmsnorm(x, g):  # x: T x d
    return g * x / torch.sqrt((x * x).mean(dim=1, keepdim=True) + EPS)


def main():
    a = json.load(sys.stdin)
    d, H, L, E, k, f = a["d"], a["heads"], a["layers"], a["experts"], a["top_k"], a["d_ff"]
    n = a["context"]
    tokens = torch.tensor(a["tokens"], dtype=torch.long)
    labels = torch.tensor(a["labels"], dtype=torch.long)
    T = tokens.numel()
    B = T // n
    P = {}
    for name, t in a["params"].items():
        m = np.array(t["data"], dtype=np.float64).reshape(t["rows"], t["cols"], order="F")
        P[name] = torch.tensor(m, requires_grad=True)

    pos = torch.arange(T) % n
    h = P["embed.W"][:, tokens].T + P["embed.b"][:, 0] + P["embed.pos"][:, pos].T  # T x d
    mask = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    router_terms = 0
    for l in range(L):
        p = f"layer{l}."
        mha = torch.nn.MultiheadAttention(d, H, bias=False, batch_first=True, dtype=torch.float64)
        # The module's own weights are replaced by the JSON's, so the gradients flow to those.
        del mha.in_proj_weight
        mha.in_proj_weight = torch.cat([P[p + "attn.Wq"], P[p + "attn.Wk"], P[p + "attn.Wv"]], 0)
        x = rmsnorm(h, P[p + "attn.norm.g"][:, 0]).reshape(B, n, d)
        y, _ = F.multi_head_attention_forward(
            x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1), d, H, mha.in_proj_weight, None, None, None,
            False, 0.0, P[p + "attn.Wo"], None, training=False, need_weights=False, attn_mask=mask)
        h = h + y.transpose(0, 1).reshape(T, d)

        u = rmsnorm(h, P[p + "norm.g"][:, 0])
        z = u @ P[p + "router.W"].T  # T x E
        prob = torch.softmax(z, dim=1)
        chosen = torch.topk(z.detach(), k, dim=1).indices  # T x k
        if k == 1:
            gates = prob.gather(1, chosen)
        else:
            gates = torch.softmax(z.gather(1, chosen), dim=1)
        out = torch.zeros(T, d, dtype=torch.float64)
        W1, b1 = P[p + "experts.W1"], P[p + "experts.b1"]
        W2, b2 = P[p + "experts.W2"], P[p + "experts.b2"]
        for e in range(E):
            hit = chosen == e  # T x k
            rows = hit.any(dim=1).nonzero()[:, 0]
            if rows.numel() == 0:
                continue
            g = (gates * hit).sum(dim=1)[rows]
            act = F.gelu(u[rows] @ W1[:, e * d:(e + 1) * d].T + b1[:, e], approximate="tanh")
            ye = act @ W2[:, e * f:(e + 1) * f].T + b2[:, e]
            out = out.index_add(0, rows, g[:, None] * ye)
        h = h + out
        counts = torch.bincount(chosen.reshape(-1), minlength=E).double()
        frac = counts / (T * k)
        balance = E * (frac * prob.mean(dim=0)).sum()
        zloss = (torch.logsumexp(z, dim=1) ** 2).mean()
        router_terms = router_terms + a["aux_weight"] * balance + a["z_weight"] * zloss

    v = rmsnorm(h, P["head.norm.g"][:, 0])
    logits = v @ P["head.W"].T + P["head.b"][:, 0]
    ce = F.cross_entropy(logits, labels)
    loss = ce + router_terms / L
    loss.backward()
    grads = {}
    for name, t in P.items():
        g = t.grad if t.grad is not None else torch.zeros_like(t)
        grads[name] = g.detach().numpy().reshape(-1, order="F").tolist()
    json.dump({"loss": loss.item(), "ce": ce.item(), "grads": grads}, sys.stdout)


if __name__ == "__main__":
    main()
