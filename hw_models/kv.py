"""Decode attention over the KV cache: where the cache lives and what reading it costs per token.

One generated token's attention in one block, as :func:`decode_attention` costs it:

* **Grouped-query attention**: the ``heads / kv_heads`` query heads of a group share one K/V
  head, so a cluster takes the whole group (its queries as the rows of Q K^T) and streams that
  K/V head once: ``2 kv_heads head_dim s`` elements per block and token, not ``2 heads ...``.
* **Split-K** (flash-decoding, Dao et al. 2023): the ``s`` keys of each K/V head are split over
  ``attention.splits`` clusters (0: as many as the idle clusters allow, see :func:`splits`);
  each computes a partial softmax and output, written to the L2 with its running max and sum,
  and one cluster per K/V head reads them back and combines them (:func:`reduce_cost`).
* **Placement**: the cache is interleaved over the L2 of the chips that hold the block's tiles
  (L2 first); what does not fit is in off-chip memory (:mod:`hw_models.offchip`). With
  ``batch`` sequences decoding together their caches share that L2: each sequence has
  ``1 / batch`` of it and spills the rest.
* **Shared L2 bandwidth**: each chip's L2 serves ``chip.l2_banks x l2_bank_bytes_per_cycle``
  to all its clusters, however many 16 B/cycle cluster ports read it.

The block's attention takes the slowest of the clusters' own work (compute and their ports), the
block's L2 bandwidth and the off-chip read, then the reduction. Reads of another chip's L2 are
timed at that L2's bandwidth here (chip-to-chip links are costed elsewhere). Pure functions; ns,
bytes, pJ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import interconnect, memory, offchip, snitch
from .plan import mapping_clusters
from .specs import HardwareSpec
from .stages import head_cost
from .workload import AttentionOp, Network


def kv_heads(op: AttentionOp) -> int:
    """K/V heads of the op (its query heads when it has no grouped-query attention)."""
    return op.kv_heads or op.heads


def kv_read_bytes(op: AttentionOp, s: int, bytes_per_element: int) -> int:
    """K and V bytes one block reads for one token over ``s`` keys: each K/V head once."""
    return 2 * kv_heads(op) * op.head_dim * s * bytes_per_element


def l2_bytes_per_ns(hw: HardwareSpec) -> float:
    """Read bandwidth of one chip's L2, shared by its clusters, B/ns."""
    return hw.chip.l2_banks * hw.chip.l2_bank_bytes_per_cycle * hw.pmca.clock_ghz


def l2_share(hw: HardwareSpec, chips: float, batch: int = 1) -> float:
    """Bytes of the L2 of ``chips`` chips that one of ``batch`` sequences' KV caches gets."""
    return chips * hw.chip.l2_kib * 1024 / batch


def offchip_bytes(op: AttentionOp, s: int, hw: HardwareSpec, l2_capacity: float) -> float:
    """Bytes of one block's KV cache at ``s`` tokens beyond ``l2_capacity`` (its L2 share): off
    chip. The first tokens stay in the L2, later ones spill."""
    return max(0.0, op.kv_bytes_per_token(hw.pmca.bytes_per_element) * s - l2_capacity)


def splits(op: AttentionOp, hw: HardwareSpec, clusters: int, s: int) -> int:
    """Clusters each K/V head's keys are split over: ``attention.splits``, or with 0 the clusters
    left idle by one cluster per K/V head (``clusters // kv_heads``), at most one split per
    ``kv_block_keys`` keys; never more splits than keys."""
    chosen = hw.attention.splits or min(clusters // kv_heads(op),
                                        math.ceil(s / hw.attention.kv_block_keys))
    return max(1, min(chosen, s))


def reduce_cost(op: AttentionOp, hw: HardwareSpec, n_splits: int,
                clusters: int) -> tuple[float, float]:
    """(ns, pJ) of combining the split partials of a block's K/V heads: per query head, each
    split's output (head_dim) with its max and sum is read from the L2, rescaled by
    exp(m_i - m) and summed (2 head_dim + 4 FLOPs per split), divided by the summed weights, and
    the output written back. One cluster per K/V head; zero without splitting."""
    if n_splits <= 1:
        return 0.0, 0.0
    pmca, d = hw.pmca, op.head_dim
    g = op.heads // kv_heads(op)
    moved = g * (n_splits * (d + 2) + d) * pmca.bytes_per_element
    flops = g * (n_splits * (2 * d + 4) + d)
    rounds = math.ceil(kv_heads(op) / max(clusters, 1))
    ns = rounds * (interconnect.l2_ns(moved, pmca)
                   + snitch.vector_cycles(flops, pmca) / pmca.clock_ghz)
    pj = kv_heads(op) * (snitch.compute_pj(0.0, flops, pmca)
                         + memory.transfer_pj(moved, moved, hw, l2_over_link=True))
    return ns, pj


@dataclass(frozen=True)
class DecodeAttention:
    """One block's attention for one generated token over ``s`` keys."""

    ns: float              #: the slowest of cluster_ns, l2_ns, offchip_ns; then reduce_ns
    cluster_ns: float      #: the busiest cluster's compute and port-limited streaming
    l2_ns: float           #: the block's L2 traffic at its chips' shared L2 bandwidth
    offchip_ns: float      #: the off-chip part of the cache at the off-chip bandwidth
    reduce_ns: float       #: combining the split partials
    kv_bytes: int          #: K and V read (each K/V head once)
    offchip_bytes: float   #: of which from off-chip memory
    energy_pj: float       #: compute, L2/TCDM/link traffic, off-chip reads, reduction
    splits: int            #: clusters per K/V head


def decode_attention(op: AttentionOp, hw: HardwareSpec, clusters: int, chips: float,
                     s: int, batch: int = 1) -> DecodeAttention:
    """Time, traffic and energy of one block's attention for one token over ``s`` keys, on
    ``clusters`` clusters of a block whose tiles fill ``chips`` chips: the cache has that share of
    their L2 capacity, divided by the ``batch`` sequences whose caches share it, and the bandwidth
    of every L2 it touches (the chips run one block at a time for a sequence)."""
    e, d = hw.pmca.bytes_per_element, op.head_dim
    n = splits(op, hw, clusters, s)
    units = kv_heads(op) * n
    rounds = math.ceil(units / max(clusters, 1))
    unit = head_cost(op, hw, op.heads // kv_heads(op), math.ceil(s / n))
    kv = kv_read_bytes(op, s, e)
    off = offchip_bytes(op, s, hw, l2_share(hw, chips, batch))
    # Q in, partial output out, TCDM overflow: each unit's traffic beside its K and V
    other = units * (unit.dma_bytes - 2 * math.ceil(s / n) * d * e)
    l2 = kv - off + other
    own_pj = unit.energy_pj - memory.transfer_pj(unit.dma_bytes, unit.dma_bytes, hw,
                                                 l2_over_link=True)
    energy = (units * own_pj + memory.transfer_pj(l2, l2, hw, l2_over_link=True)
              + memory.transfer_pj(off, 0.0, hw) + off * offchip.pj_per_byte(hw.offchip))
    red_ns, red_pj = reduce_cost(op, hw, n, clusters)
    cluster_ns = rounds * unit.ns
    l2_ns = l2 / (max(1, math.ceil(chips)) * l2_bytes_per_ns(hw))
    off_ns = offchip.read_ns(off, hw.offchip)
    return DecodeAttention(ns=max(cluster_ns, l2_ns, off_ns) + red_ns, cluster_ns=cluster_ns,
                           l2_ns=l2_ns, offchip_ns=off_ns, reduce_ns=red_ns, kv_bytes=kv,
                           offchip_bytes=off, energy_pj=energy + red_pj, splits=n)


@dataclass(frozen=True)
class TokenAttention:
    """Every block's decode attention, per generated token (arrays over the contexts)."""

    ns: np.ndarray             #: all blocks' attention time
    energy_pj: np.ndarray      #: all blocks' attention energy
    kv_bytes: np.ndarray       #: K and V read, all blocks
    offchip_bytes: np.ndarray  #: the off-chip part of one sequence's cache, all blocks
    splits: int                  #: clusters per K/V head at the last token (the largest op's)


def network_attention(network: Network, hw: HardwareSpec, contexts, chips: float,
                      batch: int = 1) -> TokenAttention:
    """:func:`decode_attention` of each of a network's attention ops (x its blocks) at each
    context length, on the clusters ``hw.attention.mapping`` gives it, for one of ``batch``
    sequences (its share of the L2)."""
    ns, pj, kv, off = (np.zeros(len(contexts)) for _ in range(4))
    n_splits = 1
    for op in network.digital_ops:
        clusters = len(mapping_clusters(op, hw, network.block))
        costs = [decode_attention(op, hw, clusters, chips, int(s), batch) for s in contexts]
        ns += op.count * np.array([c.ns for c in costs])
        pj += op.count * np.array([c.energy_pj for c in costs])
        kv += op.count * np.array([c.kv_bytes for c in costs], dtype=float)
        off += op.count * np.array([c.offchip_bytes for c in costs])
        n_splits = max(n_splits, costs[-1].splits)
    return TokenAttention(ns=ns, energy_pj=pj, kv_bytes=kv, offchip_bytes=off, splits=n_splits)
