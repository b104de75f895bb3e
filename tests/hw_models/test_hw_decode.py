"""Autoregressive decode: per-token latency, KV cache, and the adapters' price at t = 1."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import hw_models as H
from hw_models.closed_form import block_closed_form, run_blocks
from hw_models.decode import decode_report
from hw_models.aimc import tile_grid
from hw_models.kv import decode_attention
from hw_models.plan import AttentionPlan, build_plan, mapping_clusters
from hw_models.system import block_des
from hw_models.workload import network_from_config

TINY = network_from_config({"model_type": "llama", "hidden_size": 512, "intermediate_size": 1024,
                            "num_attention_heads": 8, "num_key_value_heads": 2,
                            "num_hidden_layers": 3}, "tiny-llama")


def _attention_ns(net, hw, node, keys):
    """One block's decode attention over ``keys`` keys (hw_models.kv), per round of the plan."""
    chips = sum(math.prod(tile_grid(L.m, L.n, hw.aimc)) for L in net.block
                if isinstance(L, H.LinearLayer)) / hw.chip.tiles_per_chip
    clusters = len(mapping_clusters(node.op, hw, net.block))
    return decode_attention(node.op, hw, clusters, chips, keys).ns / node.rounds(0)


def _one_token(net, hw, lora, keys, block_fn=block_closed_form):
    """Latency of one token with ``keys`` keys in the cache, by running the network plan."""
    one = dataclasses.replace(hw, tokens=1)
    plan = build_plan(net, one, lora, 1, sizes=[1])
    block = tuple(dataclasses.replace(n, head_ns=np.array([_attention_ns(net, one, n, keys)]))
                  if isinstance(n, AttentionPlan) else n for n in plan.block)
    out, _ = run_blocks(dataclasses.replace(plan, block=block), block_fn)
    return float(out[-1])


@pytest.mark.parametrize("mapping", ["upstream", "block", "dedicated"])
def test_per_token_latency_is_the_network_run_one_token_at_a_time(mapping):
    hw = H.HardwareSpec(tokens=8, attention=H.AttentionSpec(mapping=mapping))
    lora = H.LoraSpec(rank=8)
    rep = decode_report(TINY, hw, lora, prompt_len=100, generate=4)
    exact = [_one_token(TINY, hw, lora, 100 + i + 1) for i in range(4)]
    assert rep.decode_ns_per_token == pytest.approx(np.mean(exact), rel=1e-12)
    # one token in flight: nothing contends, the event simulation agrees
    assert _one_token(TINY, hw, lora, 101, block_des) == pytest.approx(exact[0], rel=1e-12)
    none = [_one_token(TINY, hw, H.LoraSpec(rank=0, placement="none"), 100 + i + 1)
            for i in range(4)]
    assert rep.decode_aimc_only_ns_per_token == pytest.approx(np.mean(none), rel=1e-12)


def test_decode_figures_for_llama():
    net = H.load_network("llama-3.1-8b")
    hw = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=512), tokens=8)
    rep = decode_report(net, hw, H.LoraSpec(rank=16), prompt_len=2048, generate=128)
    # K and V: 32 layers x 2 x 8 KV heads x 128 dims x 2 B x (2048 + 128) tokens
    assert rep.kv_cache_bytes == 32 * 2 * 8 * 128 * 2 * 2176
    assert rep.kv_cache_bytes_per_block * 32 == rep.kv_cache_bytes
    # 8.5 MiB per block; a block's 832 tiles sit on 13 chips of 64 with 1 MiB of L2 each
    assert rep.kv_cache_fits_l2
    tight = dataclasses.replace(hw, chip=H.ChipSpec(l2_kib=512))
    assert not decode_report(net, tight, H.LoraSpec(rank=16), 2048, 128).kv_cache_fits_l2
    assert rep.decode_overhead > 1.0
    assert rep.tokens_per_s == pytest.approx(1e9 / rep.decode_ns_per_token)
    # attention streams the whole cache per token: it dominates, and grows with the prompt
    assert rep.attention_ns_per_token > 0.5 * rep.decode_ns_per_token
    short = decode_report(net, hw, H.LoraSpec(rank=16), prompt_len=256, generate=128)
    assert short.decode_ns_per_token < rep.decode_ns_per_token
    assert short.kv_cache_bytes < rep.kv_cache_bytes


def test_decode_knobs_and_errors():
    hw = H.HardwareSpec(tokens=8)
    a = decode_report(TINY, hw, H.LoraSpec(rank=4), 64, 8)
    b = decode_report(TINY, hw, H.LoraSpec(rank=16), 64, 8)
    assert a.decode_ns_per_token <= b.decode_ns_per_token
    slow = decode_report(TINY, H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=512)),
                         H.LoraSpec(rank=4), 64, 8)
    assert slow.decode_ns_per_token > a.decode_ns_per_token
    # t does not matter in decode (one token at a time)
    t32 = decode_report(TINY, H.HardwareSpec(tokens=32), H.LoraSpec(rank=4), 64, 8)
    assert t32.decode_ns_per_token == a.decode_ns_per_token
    with pytest.raises(H.SpecError, match="encoder"):
        decode_report(H.load_network("mobilebert"), hw, H.LoraSpec(), 64, 8)
    with pytest.raises(H.SpecError, match="generate"):
        decode_report(TINY, hw, H.LoraSpec(), 64, 0)
