"""Many requests at once on weight-stationary hardware: batched decode and encoder throughput.

Every layer has its own tiles and clusters, so the network is a pipeline of stages, and
sequences in flight occupy different stages at once. With B sequences decoding together, each
generated token of each sequence crosses the whole network (``T1``, the one-sequence time per
token), and each stage serves B tokens per step. In steady state a sequence's time per token is

    T(B) = max(T1, B x bottleneck)

where ``bottleneck`` is the busiest stage's occupancy per token: a layer's tiles, input
transfer or PMCAs; a block's attention clusters (their attention over the sequence's own KV
cache, over the groups that run concurrently, plus the LoRA work of the layers that lend them);
the busiest chip-link port; the LM head. Tokens/s is ``B / T(B)``: it grows with B until
``B x bottleneck`` reaches ``T1`` (``saturation_batch``), then stays flat. Leakage is paid once
for all B sequences, so the static energy per token is ``P_leak x T(B) / B``; the dynamic
energy per token does not depend on B.

Encoders (throughput mode): many sequences stream through the prefill pipeline; at steady state
one leaves every ``bottleneck`` ns, the busiest stage's time per sequence (from the network
report's per-layer utilisation, its attention and the chip links), and the leakage per sequence is
``P_leak x bottleneck``.
Closed forms, no simulation. Times in ns, energy in pJ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .chips import prefill_links
from .plan import AttentionPlan, LinearPlan, Plan, attention_groups, mapping_clusters
from .reports import NetworkReport
from .specs import HardwareSpec
from .workload import Network


def linear_busy_ns(lp: LinearPlan) -> float:
    """Occupancy per token of a layer's busiest stage (tiles, readout, input, PMCAs)."""
    feed = float(lp.feed[0]) if lp.feed is not None else 0.0
    return max(float(lp.tile[0]), float(lp.link[0]), float(lp.pmca[0]), feed)


def stage_busy(plan: Plan, attn_block_ns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Occupancy per token of every stage of a t = 1 plan, by name; a block's attention per
    context (``attn_block_ns``: one sequence's attention in one block, all heads)."""
    n = len(next(iter(attn_block_ns.values()))) if attn_block_ns else 1
    busy = {lp.name: np.full(n, linear_busy_ns(lp)) for lp in (*plan.prologue, *plan.block)
            if isinstance(lp, LinearPlan)}
    for node in plan.block:
        if isinstance(node, AttentionPlan):
            lent = max((float(busy[name][0]) for name in node.borrowed if name in busy),
                       default=0.0)
            busy[node.name] = attn_block_ns[node.name] / len(node.groups) + lent
    return busy


@dataclass(frozen=True)
class Batched:
    """Decode of ``batch`` sequences at once (means over the generated tokens)."""

    batch: int
    ns_per_token: float          #: a sequence's time per generated token, T(B)
    tokens_per_s: float          #: all sequences together: B x 1e9 / T(B)
    saturation_batch: int        #: the smallest B at which the bottleneck sets T(B)
    saturation_resource: str     #: that bottleneck stage
    static_pj_per_token: float   #: leakage per generated token, shared over B


def batched(t1: np.ndarray, busy: dict, batch: int,
            leak_mw: float) -> Batched:
    """Batched decode from the one-sequence time per token ``t1`` (per context) and the
    stages' occupancy per token ``busy`` (per context)."""
    name = max(busy, key=lambda k: float(np.mean(busy[k])))
    neck = np.max(np.vstack([np.broadcast_to(np.asarray(v, float), t1.shape)
                             for v in busy.values()]), axis=0)
    t = float(np.mean(np.maximum(t1, batch * neck)))
    sat = max(1, math.ceil(float(np.mean(t1)) / float(np.mean(neck))))
    return Batched(batch, t, batch * 1e9 / t, sat, name, leak_mw * t / batch)


@dataclass(frozen=True)
class Throughput:
    """An encoder (or a prefill) serving many sequences: steady state."""

    sequences_per_s: float
    bottleneck_ns: float            #: busiest stage's time per sequence
    bottleneck: str                 #: which stage (a layer's tiles or PMCAs, or attention)
    energy_pj_per_sequence: float   #: dynamic + leakage shared over the sequences in flight
    static_pj_per_sequence: float


def encoder_throughput(report: NetworkReport, network: Network, hw: HardwareSpec) -> Throughput:
    """Sequences/s at steady state from a network report with its size fields filled in: the
    busiest stage is a layer's tiles, its PMCAs, a block's attention clusters (attention over
    the groups that run concurrently, plus the LoRA work of the layers that lend them) or the
    busiest chip-link port (:func:`~hw_models.chips.prefill_links`)."""
    busy = {}
    for L in report.layers:
        busy[f"{L.name} tiles"] = L.aimc_utilisation * report.total_ns
        busy[f"{L.name} pmca"] = L.pmca_utilisation * report.total_ns
    for op in network.digital_ops:
        clusters = mapping_clusters(op, hw, network.block)
        groups = attention_groups(op.heads, clusters)
        lent = max((busy.get(f"{name} pmca", 0.0) for name in set(clusters) if name),
                   default=0.0)
        per_op = report.attention_ns / len(network.digital_ops)   # one attention op per block
        busy[f"{op.name} clusters"] = per_op / (op.count * op.heads * len(groups)) + lent
    busy["chip links"] = prefill_links(network, hw, report.seq_len)[1]
    name = max(busy, key=lambda k: busy[k]) if busy else "network"
    neck = busy.get(name, report.total_ns) or report.total_ns
    static = report.static_power_mw * neck
    return Throughput(1e9 / neck, neck, name, report.dynamic_energy_pj + static, static)
