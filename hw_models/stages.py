"""Per-chunk stage times and costs of each node of a network: the numbers both engines (closed form
and discrete-event) schedule. Pure functions; times in ns, memory in bytes, energy in pJ.

A linear layer is up to three pipeline stages per chunk of t tokens:

* input transfer (networks only): the t x m inputs moved by DMA from the producer into the tiles;
* tile: t MVMs (``aimc_ns``) and, with a single output buffer, the readout of the t x n outputs
  into the PMCA TCDM (``readout_ns``: ``aimc.output_bytes`` per output over the tile -> TCDM
  port); with two output buffers the readout is its own stage, overlapped with the next chunk's
  MVMs;
* PMCA: the LoRA job (``lora_ns``, with the all-reduce of X A over a layer's tiles), the
  partial-sum accumulation and exchange of a layer split over row tiles, L2 traffic (overflow
  streaming; Q/K/V outputs written for attention) alongside it by the DMA, and the fused
  element-wise post-ops (``post_ns``). ``pmca_ns`` (the contract figure) is all of it but the
  post-ops.

Attention is costed per unit of a query chunk on one cluster (:func:`group_cost`: one head, or
several query heads that share a K/V head under grouped-query attention, stacked), with the
unit's K and V streamed from the L2 once for the chunk or kept in the TCDM across the cluster's
query chunks; where the heads run, and whether K and V fit, is the plan's business
(:mod:`hw_models.plan`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from . import aimc, interconnect, memory, snitch
from .specs import HardwareSpec
from .workload import AttentionOp


@dataclass(frozen=True)
class LayerStage:
    """One chunk of ``t`` tokens through one linear layer (per PMCA where split)."""

    t: int
    aimc_ns: float        #: t MVMs on the layer's tiles (in parallel)
    readout_ns: float     #: tile outputs -> TCDM
    lora_ns: float        #: offload + X A + all-reduce of X A + (X A) B + add
    accum_ns: float       #: partial sums of row tiles: exchange (DMA) and adds
    l2_ns: float          #: TCDM <-> L2 traffic (overflow streaming, outputs for attention)
    post_ns: float        #: fused element-wise post-ops (network only)
    tcdm_bytes: int       #: peak working set of one PMCA
    l2_bytes: float       #: L2 traffic of one PMCA
    energy_pj: float      #: whole layer (all tiles and PMCAs), this chunk
    pmcas: int            #: PMCAs (= tiles) of the layer
    single_buffer: bool = True  #: readout on the tile stage (one output buffer)
    input_ns: float = 0.0       #: inputs moved from the producer into the tiles (network only)
    gemm_ns: float = 0.0        #: a digital layer's GEMM with its weights streamed (hw_models.digital)

    @property
    def pmca_ns(self) -> float:
        """PMCA time of the chunk without post-ops: LoRA + accumulation, with the L2 traffic
        streamed by the DMA alongside (the slower of the two)."""
        return max(self.lora_ns + self.accum_ns, self.l2_ns)

    @property
    def tile_ns(self) -> float:
        """Occupancy of the tile stage (integration, and readout when single-buffered)."""
        return self.aimc_ns + (self.readout_ns if self.single_buffer else 0.0)


@functools.lru_cache(maxsize=8192)
def layer_stage(m: int, n: int, hw: HardwareSpec, rank: int, t: int,
                post_flops: float = 0.0, network: bool = False,
                writeback: bool = False) -> LayerStage:
    """Stage times and costs of a chunk of t tokens through an m x n layer with a rank-r adapter.

    ``network``: the layer is part of a network, so its inputs are moved from the producer into
    its tiles (``input_ns``, its own pipeline stage). ``writeback``: its outputs go to the L2 for
    attention (Q, K, V), by the DMA alongside the PMCA's work. Pure: memoised (a layer and its
    adapter-free baseline recur across the configurations of a grid).
    """
    tile, pmca = hw.aimc, hw.pmca
    rt, ct = aimc.tile_grid(m, n, tile)
    share = snitch.lora_share(m, n, rt, ct)
    e = pmca.bytes_per_element
    clk = pmca.clock_ghz
    pmcas = rt * ct
    n_tile = math.ceil(n / ct)  # outputs of one tile
    out_bytes = t * n_tile * e
    read_bytes = t * n_tile * tile.output_bytes     # the tile's outputs in its readout format
    in_bytes = t * math.ceil(m / rt) * e if network else 0.0   # inputs of one tile
    aimc_ns = aimc.chunk_ns(t, tile)
    readout = interconnect.readout_ns(read_bytes, pmca)
    lora_cyc = snitch.lora_cycles(t, share, rank, pmca)
    xa_bytes = t * rank * e if rank > 0 else 0.0
    allreduce = interconnect.allreduce_ns(xa_bytes, pmcas, pmca)
    exch_bytes = out_bytes * (rt - 1) / rt if rt > 1 else 0.0
    accum_cyc = snitch.accumulate_cycles(t, share, pmca)
    accum = accum_cyc / clk + interconnect.dma_ns(exch_bytes, pmca)
    ws = snitch.tcdm_bytes(t, share, rank, pmca)
    wb_bytes = t * share.n * e if writeback else 0.0
    l2_bytes = interconnect.overflow_bytes(ws, pmca) + wb_bytes
    l2 = interconnect.l2_ns(l2_bytes, pmca)
    post_cyc = snitch.vector_cycles(post_flops * t / pmcas, pmca)
    # energy of the whole layer for this chunk
    macs = snitch.lora_padded_macs(t, share, rank, pmca)
    core_flops = (t * share.n * (share.row_tiles - 1) + post_flops * t / pmcas
                  + 2 * snitch.lora_core_macs(t, share, rank, pmca))
    moved = read_bytes + exch_bytes + in_bytes + (2.0 * xa_bytes if pmcas > 1 else 0.0)
    per_pmca_pj = (snitch.compute_pj(macs, core_flops, pmca)
                   + memory.transfer_pj(moved, l2_bytes, hw))
    energy = aimc.layer_energy_pj(m, n, t, tile) + pmcas * per_pmca_pj
    return LayerStage(t=t, aimc_ns=aimc_ns, readout_ns=readout,
                      lora_ns=lora_cyc / clk + allreduce, accum_ns=accum, l2_ns=l2,
                      post_ns=post_cyc / clk, tcdm_bytes=ws, l2_bytes=l2_bytes, energy_pj=energy,
                      pmcas=pmcas, single_buffer=tile.output_buffers == 1,
                      input_ns=interconnect.dma_ns(in_bytes, pmca))


def chunk_sizes(seq_len: int, t: int) -> list[int]:
    """Token counts of the chunks of a sequence: ``seq_len // t`` chunks of t and the remainder."""
    full, rest = divmod(seq_len, t)
    return [t] * full + ([rest] if rest else [])


def key_counts(op: AttentionOp, sizes: list[int]) -> list[int]:
    """Keys each query chunk attends to: all of the sequence, or those up to the chunk (causal)."""
    seq = sum(sizes)
    ends = np.cumsum(sizes)
    return [int(end) if op.causal else seq for end in ends]


#: how a cluster gets a head's K and V for a query chunk (see :func:`head_cost`)
KV_MODES = ("stream", "load", "resident")


@dataclass(frozen=True)
class HeadCost:
    """One attention head (or one query group, :func:`group_cost`) of a query chunk (t queries,
    s keys) on one cluster."""

    ns: float             #: compute and DMA streaming, overlapped
    compute_ns: float     #: Q K^T and P V on RedMule (or the cores), softmax on the cores
    dma_bytes: float      #: Q (and K, V unless resident) in from the L2 and the output back
    energy_pj: float
    tcdm_bytes: int       #: working set in the TCDM (Q, output, scores, and K/V blocks or all)
    kv_bytes: float = 0.0  #: of dma_bytes, K and V read from the L2 (0 when kept in the TCDM)


def kv_resident_bytes(op: AttentionOp, hw: HardwareSpec, t: int, s: int, heads: int = 1) -> int:
    """TCDM working set of a cluster that keeps the whole K and V of its ``heads`` heads (s keys
    each) and works on one head of a t-query chunk at a time: Q, output and scores of that head,
    plus 2 s d elements per head held, bytes."""
    d, e = op.head_dim, hw.pmca.bytes_per_element
    return int(e * (2 * t * d + t * s + heads * 2 * s * d))


def head_cost(op: AttentionOp, hw: HardwareSpec, t: int, s: int, kv: str = "stream") -> HeadCost:
    """Time, traffic, energy and working set of one head of a t-query, s-key chunk on a cluster.

    ``kv``: ``stream`` (the cluster streams the head's K and V from the L2 in blocks of
    ``kv_block_keys`` keys, double-buffered, for this chunk; Q, the output and the t x s scores
    stay in the TCDM; what of that overflows the TCDM is streamed through the L2 as well),
    ``load`` (the first query chunk of a cluster that keeps K and V: it loads them whole and
    keeps them for its later chunks) or ``resident`` (K and V are already in the TCDM: only Q
    comes in and the output goes back)."""
    pmca = hw.pmca
    d, e = op.head_dim, pmca.bytes_per_element
    cyc = (snitch.gemm_cycles(t, d, s, pmca) + snitch.gemm_cycles(t, s, d, pmca)
           + snitch.vector_cycles(op.softmax_flops * t * s, pmca))
    compute = cyc / pmca.clock_ghz
    if kv == "stream":
        ws = int(e * (2 * t * d + t * s + 4 * min(s, hw.attention.kv_block_keys) * d))
    elif kv in ("load", "resident"):
        ws = kv_resident_bytes(op, hw, t, s)
    else:
        raise ValueError(f"kv: must be one of {', '.join(KV_MODES)}; got {kv!r}")
    kv_bytes = 0.0 if kv == "resident" else float(e * 2 * s * d)
    dma = float(e * 2 * t * d) + kv_bytes + interconnect.overflow_bytes(ws, pmca)
    macs = snitch.gemm_padded_macs(t, d, s, pmca) + snitch.gemm_padded_macs(t, s, d, pmca)
    core_flops = op.softmax_flops * t * s + 2 * (snitch.gemm_core_macs(t, d, s, pmca)
                                                 + snitch.gemm_core_macs(t, s, d, pmca))
    # Q, K, V and the output move between the L2 and the TCDM (and over the link) by DMA
    energy = snitch.compute_pj(macs, core_flops, pmca) + memory.transfer_pj(dma, dma, hw,
                                                                        l2_over_link=True)
    return HeadCost(ns=interconnect.streamed_ns(compute, dma, pmca), compute_ns=compute,
                    dma_bytes=dma, energy_pj=energy, tcdm_bytes=ws, kv_bytes=kv_bytes)


def group_heads(op: AttentionOp) -> int:
    """Query heads that share one K/V head (grouped-query attention; 1 without it)."""
    return op.heads // (op.kv_heads or op.heads)


def group_cost(op: AttentionOp, hw: HardwareSpec, t: int, s: int, kv: str = "stream",
               heads: int = 1) -> HeadCost:
    """``heads`` query heads that share a K/V head (grouped-query attention; a divisor of
    :func:`group_heads`) of a t-query, s-key chunk on one cluster, their queries stacked as the
    rows of Q K^T (``heads x t`` rows, as decode stacks a token's group, :mod:`hw_models.kv`):
    the cluster gets their K/V head once for all of them, so compute scales with the query heads
    and K/V traffic with the K/V heads. Streaming, the cluster runs the heads one after another
    instead (each streaming K and V) where stacking would cost more time, traffic or energy (the
    stacked t x s scores overflowing the TCDM). ``heads = 1``: :func:`head_cost`."""
    stacked = head_cost(op, hw, heads * t, s, kv)
    if heads == 1 or kv != "stream":
        return stacked
    one = head_cost(op, hw, t, s, kv)
    apart = HeadCost(ns=heads * one.ns, compute_ns=heads * one.compute_ns,
                     dma_bytes=heads * one.dma_bytes, energy_pj=heads * one.energy_pj,
                     tcdm_bytes=one.tcdm_bytes, kv_bytes=heads * one.kv_bytes)
    cheaper = (stacked.ns <= apart.ns and stacked.dma_bytes <= apart.dma_bytes
               and stacked.energy_pj <= apart.energy_pj)
    return stacked if cheaper else apart


def kv_mode(k: int, groups: int, kv_resident: bool) -> str:
    """How query chunk k's clusters get their K and V (:data:`KV_MODES`): streamed, or loaded by
    a group's first chunk (chunk k runs on group k mod ``groups``) and kept for its others."""
    return ("load" if k < groups else "resident") if kv_resident else "stream"


def head_costs(op: AttentionOp, hw: HardwareSpec, sizes: list[int], groups: int = 1,
               kv_resident: bool = False, stacked: int = 1) -> list[HeadCost]:
    """:func:`group_cost` of ``stacked`` query heads sharing a K/V head (one head by default) for
    each query chunk (computed once per distinct chunk, key count and K/V mode). Chunk k runs on
    group k mod ``groups``; with ``kv_resident`` each group's clusters load their K/V heads with
    their first chunk and keep them for the others."""
    memo: dict[tuple[int, int, str], HeadCost] = {}
    out = []
    for k, (t, s) in enumerate(zip(sizes, key_counts(op, sizes))):
        kv = kv_mode(k, groups, kv_resident)
        if (t, s, kv) not in memo:
            memo[(t, s, kv)] = group_cost(op, hw, t, s, kv, stacked)
        out.append(memo[(t, s, kv)])
    return out
