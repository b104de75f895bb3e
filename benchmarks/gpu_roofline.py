"""A GPU's memory roofline for LLM decode, for scale beside the AIMC figures: prints JSON.

    .venv/bin/python benchmarks/gpu_roofline.py [--model llama-3.1-8b] [--prompt 2048 8192]
                                                 [--generate 128] [--batch 1 16]

Each decode step of B sequences reads every weight once (shared by the batch) and each
sequence's whole KV cache, so its time is at least (weights + B x KV bytes) / memory bandwidth;
every sequence gets one token per step: time per token = that step, tokens/s = B / step. The
KV cache is the mean over the generated tokens (contexts prompt + 1 .. prompt + generate), as
in ``codesign latency --generate``. Compute, kernel launches and the KV reads' partial
bandwidth are ignored (a bound: real decode is slower). Energy per token is the board power at
its TDP over the step, shared by the batch (an upper bound on what the board draws).

H100 SXM5 80 GB (NVIDIA H100 Tensor Core GPU datasheet, 2023): HBM3 at 3.35 TB/s, TDP 700 W.
Weights and KV in BF16 (2 bytes per element); the parameter count is the config's (LLaMA-3.1-8B:
8.03 B with its untied embeddings and LM head, 16.06 GB).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hw_models import load_network  # noqa: E402
from hw_models.workload import LinearLayer, Network  # noqa: E402

#: H100 SXM5: HBM3 bandwidth (bytes/s) and board power (W), NVIDIA's H100 datasheet
H100_SXM = {"name": "NVIDIA H100 SXM5 80GB", "bandwidth_bytes_per_s": 3.35e12, "tdp_w": 700.0}
#: BF16 weights and KV cache
BYTES_PER_ELEMENT = 2


def parameters(net: Network) -> int:
    """Weights of the network's linear layers, its embedding table and LM head, and its norms
    (two RMSNorm vectors per block and a final one)."""
    linear = sum(L.m * L.n * L.count for L in net.layers if isinstance(L, LinearLayer))
    vocab = 2 * net.vocab_size * net.hidden_size
    norms = (2 * net.num_hidden_layers + 1) * net.hidden_size
    return linear + vocab + norms


def kv_bytes_per_token(net: Network) -> int:
    """K and V of one token over all blocks (its K/V heads, not its query heads)."""
    return sum(op.kv_bytes_per_token(BYTES_PER_ELEMENT) * op.count for op in net.digital_ops)


def roofline(net: Network, prompt: int, generate: int, batch: int, gpu: dict = H100_SXM) -> dict:
    """Time per token, tokens/s and energy per token of ``batch`` sequences at the roofline."""
    weights = parameters(net) * BYTES_PER_ELEMENT
    mean_context = prompt + (generate + 1) / 2
    kv = kv_bytes_per_token(net) * mean_context
    step_s = (weights + batch * kv) / gpu["bandwidth_bytes_per_s"]
    return {"gpu": gpu["name"], "prompt": prompt, "generate": generate, "batch": batch,
            "weight_bytes": weights, "kv_bytes_per_sequence": kv,
            "kv_bytes_read_per_token": kv, "ns_per_token": step_s * 1e9,
            "tokens_per_s": batch / step_s,
            "energy_uj_per_token_at_tdp": gpu["tdp_w"] * step_s / batch * 1e6}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="llama-3.1-8b")
    p.add_argument("--prompt", type=int, nargs="+", default=[2048, 8192])
    p.add_argument("--generate", type=int, default=128)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    args = p.parse_args(argv)
    for name, values in (("--prompt", args.prompt), ("--batch", args.batch),
                         ("--generate", [args.generate])):
        if any(v < 1 for v in values):
            p.error(f"{name}: must be integers >= 1")
    net = load_network(args.model)
    if not net.vocab_size or not net.digital_ops:
        p.error(f"--model: {args.model} is not a decoder with a vocabulary")
    rows = [roofline(net, s, args.generate, b) for s in args.prompt for b in args.batch]
    print(json.dumps({"model": net.name, "parameters": parameters(net), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
