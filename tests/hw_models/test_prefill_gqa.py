"""Grouped-query attention in the prefill (issue 22, item 1): a cluster stacks the query heads
that share a K/V head and reads that K/V head once per query chunk, wherever that makes no
chunk's attention longer; networks without it are costed exactly as before (one head per unit).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

import hw_models as H
from hw_models.plan import (AttentionPlan, attention_groups, build_plan, mapping_clusters,
                            stacking_slack)
from hw_models.stages import head_cost, key_counts, kv_mode
from hw_models.closed_form import closed_form_done
from hw_models.system import block_des, contended, network_latency
from hw_models.workload import AttentionOp, network_from_config


def toy(kv_heads: int, heads: int = 8):
    """A two-block LLaMA-style decoder of width 256: ``heads`` query heads (8: of 32
    dimensions), ``kv_heads`` K/V heads."""
    return network_from_config({"model_type": "llama", "hidden_size": 256,
                                "intermediate_size": 512, "num_attention_heads": heads,
                                "num_key_value_heads": kv_heads, "num_hidden_layers": 2},
                               f"toy-{heads}q{kv_heads}kv")


def with_kv_heads(net, kv_heads: int):
    """The same network (same linear layers) with its attention on ``kv_heads`` K/V heads."""
    block = tuple(dataclasses.replace(n, kv_heads=kv_heads) if isinstance(n, AttentionOp) else n
                  for n in net.block)
    return dataclasses.replace(net, name=f"{net.name}-kv{kv_heads}", block=block)


def attention(plan) -> AttentionPlan:
    return next(n for n in plan.block if isinstance(n, AttentionPlan))


def dedicated(clusters: int, tokens: int = 8) -> H.HardwareSpec:
    return H.HardwareSpec(tokens=tokens, attention=H.AttentionSpec(mapping="dedicated",
                                                                   dedicated_clusters=clusters))


def test_prefill_kv_bytes_scale_with_kv_heads():
    # 2 dedicated clusters for 8 heads run them four after another anyway: a cluster stacks a
    # whole group of 4 query heads and reads their K/V head once
    hw, lora = dedicated(2), H.LoraSpec(rank=8)
    gqa = attention(build_plan(toy(2), hw, lora, 96))
    mha = attention(build_plan(toy(8), hw, lora, 96))
    assert (gqa.stacked, gqa.units, mha.stacked, mha.units) == (4, 2, 1, 8)
    # 12 causal chunks of 8 tokens attend to 8, 16, ..., 96 keys (624 in all); one K/V head of
    # 32 dimensions in FP16 is 2 x 624 x 32 x 2 = 79,872 bytes
    assert sum(key_counts(gqa.op, [8] * 12)) == 624
    assert gqa.kv_read_bytes == 2 * 79_872
    assert mha.kv_read_bytes == 8 * 79_872
    # the compute is the same: the K/V traffic is all that changes
    assert gqa.units * sum(c.compute_ns for c in gqa.costs) == \
        pytest.approx(mha.units * sum(c.compute_ns for c in mha.costs), rel=1e-12)


def test_stacking_slack_by_hand():
    # 32 heads on a group of 4 clusters: 8 heads each one by one, or 2 units of 4 stacked
    assert stacking_slack(32, 4, 4) == 4
    # 12 heads on 10 clusters (2, 2, 1, ... heads); 6 units of 2 on the first 6: a cluster that
    # ran one head would run two stacked
    assert stacking_slack(12, 2, 10) == 1
    # every head its own cluster: no slack
    assert stacking_slack(32, 4, 32) == 1


def test_compute_bound_heads_on_many_clusters_stay_spread():
    # LLaMA-3.1-8B at t = 8: a head's 2,048-key chunk computes for 142.7 us on RedMulE and
    # streams its K/V in 65.8 us (1 MiB at 16 B/ns), and 96 clusters give each of the 32 heads
    # its own: stacking 4 heads on one cluster would take 4 x as long, so heads stay spread
    net = H.load_network("llama-3.1-8b")
    hw = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=512), tokens=8)
    op = net.digital_ops[0]
    one, four = head_cost(op, hw, 8, 2048), head_cost(op, hw, 4 * 8, 2048)
    assert one.compute_ns == pytest.approx(142_705, abs=1) and one.dma_bytes / 16 < 66_000
    assert four.ns == pytest.approx(4 * one.ns, rel=1e-12)
    plan = attention(build_plan(net, hw, H.LoraSpec(rank=16), 512))
    assert (plan.stacked, plan.units, len(plan.groups)) == (1, 32, 3)
    # on 4 dedicated clusters each runs 8 heads anyway: whole groups of 4 stacked, a quarter of
    # the K/V traffic in the same time
    few = dataclasses.replace(hw, attention=H.AttentionSpec(mapping="dedicated"))
    plan = attention(build_plan(net, few, H.LoraSpec(rank=16), 512))
    assert (plan.stacked, plan.units) == (4, 8)


CASES = list(itertools.product(["upstream", "qkv", "block", "dedicated"], [1, 8, 32], [32, 128]))


@pytest.mark.parametrize("mapping,tokens,kib", CASES)
def test_gqa_never_slower_or_costlier_than_without(mapping, tokens, kib):
    hw = H.HardwareSpec(tokens=tokens, pmca=H.PmcaSpec(tcdm_kib=kib),
                        attention=H.AttentionSpec(mapping=mapping, dedicated_clusters=3))
    lora = H.LoraSpec(rank=8)
    pairs = [(toy(2), 96), (with_kv_heads(H.load_network("minilm-l6"), 3), 64)]
    for gqa, seq in pairs:
        mha = with_kv_heads(gqa, 0)
        for engine in H.ENGINES:
            a = H.evaluate_network(gqa, hw, lora, seq, engine)
            b = H.evaluate_network(mha, hw, lora, seq, engine)
            assert a.total_ns <= b.total_ns * (1 + 1e-12)
            assert a.energy_pj <= b.energy_pj * (1 + 1e-12)
            assert a.attention_ns <= b.attention_ns * (1 + 1e-12)
        kv = [attention(build_plan(n, hw, lora, seq)).kv_read_bytes for n in (gqa, mha)]
        assert kv[0] <= kv[1]


def _per_head_plan(plan, hw, lora, net):
    """The plan as it was before grouped-query attention in the prefill: one head per unit on
    the mapping's clusters, each head costed by ``head_cost``."""
    block = []
    for node in plan.block:
        if isinstance(node, AttentionPlan):
            op, sizes = node.op, list(plan.sizes)
            groups = attention_groups(op.heads, mapping_clusters(op, hw, net.block))
            costs = tuple(head_cost(op, hw, t, s, kv_mode(k, len(groups), node.kv_resident))
                          for k, (t, s) in enumerate(zip(sizes, key_counts(op, sizes))))
            node = AttentionPlan(op, np.array([c.ns for c in costs]), groups, node.kv_resident,
                                 costs)
        block.append(node)
    return dataclasses.replace(plan, block=tuple(block))


@pytest.mark.parametrize("name", [n for n in H.NETWORKS if n != "llama-3.1-8b"])
@pytest.mark.parametrize("mapping", ["upstream", "dedicated"])
def test_encoders_unchanged(name, mapping):
    net, lora = H.load_network(name), H.LoraSpec(rank=8, placement="all")
    hw = H.HardwareSpec(tokens=8, attention=H.AttentionSpec(mapping=mapping))
    plan = build_plan(net, hw, lora, 128)
    old = _per_head_plan(plan, hw, lora, net)
    for new, ref in zip(plan.block, old.block):
        if isinstance(new, AttentionPlan):
            assert (new.stacked, new.units, new.groups) == (1, new.op.heads, ref.groups)
            assert new.costs == ref.costs
    rep = H.evaluate_network(net, hw, lora, 128)
    assert rep.total_ns == network_latency(old, "des")
    attn = [n for n in old.block if isinstance(n, AttentionPlan)]
    assert rep.attention_ns == sum(n.op.heads * n.op.count * sum(c.ns for c in n.costs)
                                   for n in attn)


@pytest.mark.parametrize("heads,mapping", [(8, "upstream"), (16, "block")])
def test_stacked_heads_on_borrowed_clusters_as_simpy(heads, mapping):
    # one token per chunk: a head's K/V stream bounds its cluster, so the 3 clusters of the Q/K/V
    # layers (or the block's 7, the later ones busy with their own layers' work) stack heads;
    # the fast pass schedules their contention as SimPy does
    hw = H.HardwareSpec(tokens=1, attention=H.AttentionSpec(mapping=mapping))
    plan = build_plan(toy(2, heads), hw, H.LoraSpec(rank=8), 96)
    assert attention(plan).stacked > 1 and attention(plan).borrowed
    x = np.zeros(plan.chunks)
    assert contended(plan.block, closed_form_done(plan, plan.block, x))
    for _ in range(plan.blocks):
        fast = block_des(plan, plan.block, x)
        np.testing.assert_allclose(fast, block_des(plan, plan.block, x, simpy_only=True),
                                   rtol=1e-9, atol=0)
        x = fast
