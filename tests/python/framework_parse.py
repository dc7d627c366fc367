"""Parses `moescope-cli export-knobs` output the way each framework would.

    framework_parse.py FORMAT KEY=VALUE... < export-knobs output

FORMAT is megatron, hf or deepspeed; the KEY=VALUE pairs are the moescope
knobs the output was made from (experts, top_k, layers, aux_weight, z_weight,
capacity_factor, lr, grad_clip, policy, bias_update_rate), to check that the
values mean the same. Exits 1 with a message on the first mismatch. Run by
tests/cli/test_cli_watch.cpp.

Neither Megatron-LM, transformers nor DeepSpeed is installed here, so their
real names and types are written down below from their sources:
  Megatron-LM d98e8a64ddf34856e74b24714e3bedb2f5a39553:
    megatron/training/arguments.py (_add_moe_args: --num-experts type=int,
    --moe-router-load-balancing-type nargs='+' choices, --moe-aux-loss-coeff
    type=float nargs='+'; --lr type=float; --clip-grad type=float),
    megatron/core/transformer/transformer_config.py (fields turned into flags by
    megatron/training/argument_utils.py: moe_router_topk: int,
    moe_z_loss_coeff: Optional[float], moe_expert_capacity_factor: Optional[float],
    moe_router_bias_update_rate: float, moe_router_enable_expert_bias: bool,
    moe_router_pre_softmax: bool, moe_router_score_function:
    Literal['softmax', 'sigmoid', 'sqrtsoftplus']; __post_init__ raises
    ValueError for an expert bias without sigmoid/sqrtsoftplus),
    megatron/core/transformer/moe/moe_utils.py (switch_load_balancing_loss_func,
    z_loss_func) and router.py (one loss per layer, added up).
  transformers 008e574391258935f3ecc3035c882e73bbcac419:
    models/mixtral/configuration_mixtral.py (@strict MixtralConfig fields),
    models/qwen2_moe/configuration_qwen2_moe.py, models/olmoe/configuration_olmoe.py,
    load_balancing_loss_func (tokens_per_expert = mean over tokens of the
    [tokens, k, E] one-hot: k at even routing).
  DeepSpeed 639460ab3299c47139aff6a28627aa4e901391ba: deepspeed/moe/layer.py
    (MoE.__init__ signature; noisy_gate_policy None, 'None', 'Jitter', 'RSample').
"""
import argparse
import ast
import json
import math
import shlex
import sys


def fail(msg):
    sys.exit(f"{sys.argv[1]}: {msg}")


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)


def expect():
    out = {}
    for kv in sys.argv[2:]:
        k, v = kv.split("=", 1)
        out[k] = v if k == "policy" else float(v)
    return out


def megatron(text, want):
    lines = [l for l in text.splitlines() if not l.startswith("#")]
    argv = shlex.split(" ".join(l.rstrip("\\").strip() for l in lines))
    p = argparse.ArgumentParser(allow_abbrev=False)
    p.add_argument("--num-experts", type=int, default=None)
    p.add_argument("--moe-router-load-balancing-type", nargs="+", type=str,
                   choices=["aux_loss", "seq_aux_loss", "global_aux_loss", "sinkhorn", "quantile_balancing", "none"],
                   default="aux_loss")
    p.add_argument("--moe-aux-loss-coeff", type=float, nargs="+", default=0.0)
    p.add_argument("--moe-router-topk", type=int, default=2)
    p.add_argument("--moe-z-loss-coeff", type=float, default=None)
    p.add_argument("--moe-expert-capacity-factor", type=float, default=None)
    p.add_argument("--moe-router-bias-update-rate", type=float, default=1e-3)
    p.add_argument("--moe-router-enable-expert-bias", action="store_true")
    p.add_argument("--moe-router-pre-softmax", action="store_true")
    p.add_argument("--moe-router-score-function", type=str, choices=("softmax", "sigmoid", "sqrtsoftplus"),
                   default="softmax")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--clip-grad", type=float, default=1.0)
    a, unknown = p.parse_known_args(argv)
    if unknown:
        fail(f"flags Megatron does not have: {unknown}")
    if a.moe_router_enable_expert_bias and a.moe_router_score_function not in ("sigmoid", "sqrtsoftplus"):
        fail("ValueError: expert bias needs --moe-router-score-function sigmoid or sqrtsoftplus")
    L, k = want["layers"], want["top_k"]
    if a.num_experts != want["experts"] or a.moe_router_topk != k:
        fail("experts or top-k differ")
    if k == 1 and not a.moe_router_pre_softmax:
        fail("top-1 without --moe-router-pre-softmax: the gate would be 1, not the softmax probability")
    aux = a.moe_aux_loss_coeff[0] if isinstance(a.moe_aux_loss_coeff, list) else a.moe_aux_loss_coeff
    # Megatron adds coeff·loss_l over the L layers; moescope adds aux_weight·(1/L)·Σ loss_l.
    if not close(aux * L, want["aux_weight"]):
        fail(f"--moe-aux-loss-coeff {aux} × {L} layers != aux_weight {want['aux_weight']}")
    if want["aux_weight"] > 0 and "aux_loss" not in a.moe_router_load_balancing_type:
        fail("aux_weight > 0 without --moe-router-load-balancing-type aux_loss")
    z = a.moe_z_loss_coeff or 0.0
    if not close(z * L, want["z_weight"]):
        fail(f"--moe-z-loss-coeff {z} × {L} != z_weight {want['z_weight']}")
    cf = a.moe_expert_capacity_factor
    if (cf or 0.0) != want["capacity_factor"]:
        fail(f"capacity factor {cf} != {want['capacity_factor']} (None is dropless)")
    if (want["policy"] == "bias_balanced") != a.moe_router_enable_expert_bias:
        fail("expert bias does not follow the policy")
    if a.moe_router_enable_expert_bias and not close(a.moe_router_bias_update_rate, want["bias_update_rate"]):
        fail("bias update rate differs")
    if not close(a.lr, want["lr"]) or not close(a.clip_grad, want["grad_clip"]):
        fail("lr or clip-grad differ")


# MixtralConfig's fields as declared (huggingface_hub @strict checks them).
MIXTRAL = {"num_local_experts": int, "num_experts_per_tok": int, "output_router_logits": bool,
           "router_aux_loss_coef": float, "router_jitter_noise": float}


def hf_balance_loss(counts_per_slot, probs_mean, E):
    # load_balancing_loss_func: sum over the k slots and experts of (share of tokens) · (mean prob), × E
    return E * sum(c * p for slot in counts_per_slot for c, p in zip(slot, probs_mean))


def hf(text, want):
    body = text.split("\n#", 1)[0]
    cfg = json.loads(body)
    for key, value in cfg.items():
        if key not in MIXTRAL:
            fail(f"'{key}' is not a MixtralConfig field")
        t = MIXTRAL[key]
        if type(value) is not t:  # strict: 8.0 is not an int, True is not a float
            fail(f"'{key}' is {type(value).__name__}, MixtralConfig declares {t.__name__}")
    E, k = cfg["num_local_experts"], cfg["num_experts_per_tok"]
    range(E)  # what the model does with them
    try:
        import torch
        idx = torch.topk(torch.randn(4, E), k, dim=-1).indices
        torch.nn.functional.one_hot(idx, E)
    except ImportError:
        pass
    if E != want["experts"] or k != want["top_k"]:
        fail("experts or top-k differ")
    # Even routing: each slot sends 1/E of the tokens to each expert, mean prob 1/E.
    even = hf_balance_loss([[1 / E] * E for _ in range(k)], [1 / E] * E, E)
    if not close(even, k):
        fail("HF's balance loss should be k at even routing")
    coef = cfg.get("router_aux_loss_coef", 0.0)
    if want["aux_weight"] > 0 and not cfg.get("output_router_logits"):
        fail("output_router_logits must be true for the balance loss to be added")
    # HF adds coef · (k · moescope's loss): it must equal aux_weight · moescope's loss.
    if not close(coef * even, want["aux_weight"]):
        fail(f"router_aux_loss_coef {coef} × {even} != aux_weight {want['aux_weight']}")
    if "learning_rate" in cfg or "max_grad_norm" in cfg:
        fail("training arguments in the model config")


# deepspeed.moe.layer.MoE.__init__ (hidden_size and expert are the script's own).
DS_MOE = {"num_experts": int, "ep_size": int, "k": int, "capacity_factor": float, "eval_capacity_factor": float,
          "min_capacity": int, "use_residual": bool, "noisy_gate_policy": (str, type(None)), "drop_tokens": bool,
          "use_rts": bool, "use_tutel": bool, "enable_expert_tensor_parallelism": bool,
          "top2_2nd_expert_sampling": bool}


def deepspeed(text, want):
    call_text, rest = text.split("ds_config = ", 1)
    call = ast.parse(call_text.strip()).body[0].value
    kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    for key, value in kwargs.items():
        if key not in DS_MOE:
            fail(f"MoE() has no argument '{key}'")
        if not isinstance(value, DS_MOE[key]) or (DS_MOE[key] is int and isinstance(value, bool)):
            fail(f"MoE({key}={value!r}): wrong type")
    ngp = kwargs.get("noisy_gate_policy")
    if not (ngp is None or ngp in ["None", "Jitter", "RSample"]):
        fail("Unsupported noisy_gate_policy: " + str(ngp))
    ds = json.loads(rest.split("\n#", 1)[0])
    if not isinstance(ds["gradient_clipping"], (int, float)) or not isinstance(ds["optimizer"]["params"]["lr"], (int, float)):
        fail("ds_config numbers")
    if kwargs["num_experts"] != want["experts"] or kwargs["k"] != want["top_k"]:
        fail("experts or k differ")
    dropless = want["capacity_factor"] == 0
    if kwargs.get("drop_tokens", True) == dropless:
        fail("drop_tokens must be False exactly when moescope is dropless (DeepSpeed's default drops at 1.0)")
    if not dropless and not close(kwargs["capacity_factor"], want["capacity_factor"]):
        fail("capacity factor differs")
    if not close(ds["optimizer"]["params"]["lr"], want["lr"]) or not close(ds["gradient_clipping"], want["grad_clip"]):
        fail("lr or gradient_clipping differ")


{"megatron": megatron, "hf": hf, "deepspeed": deepspeed}[sys.argv[1]](sys.stdin.read(), expect())
