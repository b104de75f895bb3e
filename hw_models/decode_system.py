"""A decode report completed with the system around the network: the chip links
(:mod:`hw_models.chips`), the LM head and embedding read (:mod:`hw_models.lm_head`), and
``batch`` sequences in flight (:mod:`hw_models.throughput`).

The one-sequence time per token at each context ``s`` is ``T1(s) = L0 + attention(s) +
links(s) + LM head``; with B sequences each one's time per token is ``max(T1, B x
bottleneck)`` and tokens/s is B over it. The energy per token is the dynamic energy (layers,
attention, links, LM head) plus the leakage of the network's and the LM head's silicon over that
time, shared over the B sequences.

The B sequences' KV caches share the L2 of a block's chips: each has ``1 / B`` of it
(:mod:`hw_models.kv`), so ``T1`` and the dynamic energy are those of a sequence whose cache
spills off chip beyond its share, and all B sequences' off-chip reads (K/V of every block,
the embedding row, a digital LM head's weights) share the off-chip devices' bandwidth: one
more stage (``OFFCHIP``). Tokens/s therefore grows with B only while the caches fit; past
that, each sequence reads more from the DRAM as B grows, and with a narrow DRAM tokens/s falls.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .chips import decode_links, layer_tiles
from .lm_head import decode_size, head_cost
from .plan import Plan, build_plan
from .specs import HardwareSpec, LoraSpec
from .throughput import batched, stage_busy
from .workload import LinearLayer, Network

#: the stage name of the off-chip memory (hardware.offchip) in the batch model
OFFCHIP = "off-chip memory"


def with_system(report, network: Network, one: HardwareSpec, plan: Plan, contexts: np.ndarray,
                bases: tuple[float, float], attn_ns: np.ndarray, dynamic_pj: float, batch: int,
                stages: dict | None = None):
    """``report`` (a :class:`~hw_models.decode.DecodeReport`) with its per-token time, tokens/s
    and energy at ``batch``, and its system fields. ``one``: the hardware at t = 1; ``plan``:
    its one-token plan with the adapters; ``bases``: the token's latency with free attention,
    with and without adapters; ``attn_ns``: attention per context, all blocks;
    ``dynamic_pj``: the layers' and attention's energy per token; ``stages``: occupancy per
    token of further shared resources (name -> ns, per context or one figure), or replacements
    of the plan's (a block's ``attention`` stage when its clusters are split differently)."""
    ops = network.digital_ops
    attn_block = {op.name: attn_ns / (op.count * len(ops)) for op in ops}   # one block's
    links = decode_links(network, one, contexts, attn_block, batch)
    head = head_cost(network, one)
    _, chips, leak_mw = decode_size(network, one, head.tiles)
    extra = {"chip links": np.maximum(links.port_ns, links.kv_port_ns), "lm_head": head.busy_ns,
             **(stages or {})}
    if head.memory_bytes:   # the embedding row (and a digital head's weights) share the DRAM
        extra[OFFCHIP] = extra.get(OFFCHIP, 0.0) + head.memory_bytes / offchip_bytes_per_ns(one)
    plan0 = build_plan(network, one, LoraSpec(rank=0, placement="none"), 1, sizes=[1])
    runs = [batched(base + attn_ns + links.ns + head.ns, {**stage_busy(p, attn_block), **extra},
                    batch, leak_mw) for base, p in zip(bases, (plan, plan0))]
    at_b, at_b0 = runs
    dynamic = dynamic_pj + float(links.energy_pj.mean()) + head.energy_pj
    l2 = sum(layer_tiles(L, one) for L in network.block if isinstance(L, LinearLayer)) \
        / one.chip.tiles_per_chip * one.chip.l2_kib * 1024
    return dataclasses.replace(
        report, decode_ns_per_token=at_b.ns_per_token,
        decode_aimc_only_ns_per_token=at_b0.ns_per_token,
        decode_overhead=at_b.ns_per_token / at_b0.ns_per_token, tokens_per_s=at_b.tokens_per_s,
        decode_energy_pj_per_token=dynamic + at_b.static_pj_per_token, batch=batch,
        decode_static_energy_pj_per_token=at_b.static_pj_per_token,
        decode_interchip_ns_per_token=float(links.ns.mean()),
        decode_interchip_bytes_per_token=float(links.bytes.mean()),
        lm_head_ns_per_token=head.ns, lm_head_tiles=head.tiles, decode_chips=chips,
        single_ns_per_token=float(np.mean(bases[0] + attn_ns + links.ns + head.ns)),
        saturation_batch=at_b.saturation_batch, saturation_resource=at_b.saturation_resource,
        batch_kv_fits_l2=batch * report.kv_cache_bytes_per_block <= l2)


def offchip_bytes_per_ns(hw: HardwareSpec) -> float:
    """The off-chip devices' summed bandwidth, B/ns (GB/s)."""
    return hw.offchip.bandwidth_gb_s * hw.offchip.devices


def memory_stages(network: Network, hw: HardwareSpec, attn) -> dict:
    """The decode-memory model's shared resources for batched decode (``attn``: its
    :class:`~hw_models.kv.TokenAttention` at the batch's L2 share): split-K keeps a block's
    attention clusters busy for the block's whole attention time, and every sequence's off-chip
    K/V, from all blocks (the batch keeps every block busy at once), streams through the same
    off-chip devices: ``OFFCHIP`` is their busy time per token."""
    ops = network.digital_ops
    stages = {op.name: attn.ns / (op.count * len(ops)) for op in ops}
    stages[OFFCHIP] = attn.offchip_bytes / offchip_bytes_per_ns(hw)
    return stages
