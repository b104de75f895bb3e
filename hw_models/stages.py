"""Per-chunk stage times and costs of each node of a network: the numbers both engines (closed form
and discrete-event) schedule. Pure functions; times in ns, memory in bytes, energy in pJ.

A linear layer is up to three pipeline stages per chunk of t tokens:

* input transfer (networks only): the t x m inputs moved by DMA from the producer into the tiles;
* tile: t MVMs (``aimc_ns``) and, with a single output buffer, the readout of the t x n outputs
  into the PMCA TCDM (``readout_ns``); with two output buffers the readout is its own stage;
* PMCA: the LoRA job (``lora_ns``, with the all-reduce of X A over a layer's tiles), the
  partial-sum accumulation and exchange of a layer split over row tiles, L2 traffic (overflow
  streaming; Q/K/V outputs written for attention) alongside it by the DMA, and the fused
  element-wise post-ops (``post_ns``). ``pmca_ns`` (the contract figure) is all of it but the
  post-ops.

Attention is costed per head of a query chunk on one cluster (:func:`head_cost`); where the heads
run is the plan's business (:mod:`hw_models.plan`).
"""

from __future__ import annotations

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

    @property
    def pmca_ns(self) -> float:
        """PMCA time of the chunk without post-ops: LoRA + accumulation, with the L2 traffic
        streamed by the DMA alongside (the slower of the two)."""
        return max(self.lora_ns + self.accum_ns, self.l2_ns)

    @property
    def tile_ns(self) -> float:
        """Occupancy of the tile stage (integration, and readout when single-buffered)."""
        return self.aimc_ns + (self.readout_ns if self.single_buffer else 0.0)


def layer_stage(m: int, n: int, hw: HardwareSpec, rank: int, t: int,
                post_flops: float = 0.0, network: bool = False,
                writeback: bool = False) -> LayerStage:
    """Stage times and costs of a chunk of t tokens through an m x n layer with a rank-r adapter.

    ``network``: the layer is part of a network, so its inputs are moved from the producer into
    its tiles (``input_ns``, its own pipeline stage). ``writeback``: its outputs go to the L2 for
    attention (Q, K, V), by the DMA alongside the PMCA's work.
    """
    tile, pmca = hw.aimc, hw.pmca
    rt, ct = aimc.tile_grid(m, n, tile)
    share = snitch.lora_share(m, n, rt, ct)
    e = pmca.bytes_per_element
    clk = pmca.clock_ghz
    pmcas = rt * ct
    n_tile = math.ceil(n / ct)  # outputs of one tile
    out_bytes = t * n_tile * e
    in_bytes = t * math.ceil(m / rt) * e if network else 0.0   # inputs of one tile
    aimc_ns = aimc.chunk_ns(t, tile)
    readout = interconnect.readout_ns(out_bytes, pmca)
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
    moved = out_bytes + exch_bytes + in_bytes + (2.0 * xa_bytes if pmcas > 1 else 0.0)
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


@dataclass(frozen=True)
class HeadCost:
    """One attention head of a query chunk (t queries, s keys) on one cluster."""

    ns: float             #: compute and DMA streaming, overlapped
    compute_ns: float     #: Q K^T and P V on RedMule (or the cores), softmax on the cores
    dma_bytes: float      #: Q, K, V in from the L2 and the output back
    energy_pj: float
    tcdm_bytes: int       #: working set in the TCDM (Q, output, scores, two K/V blocks)


def head_cost(op: AttentionOp, hw: HardwareSpec, t: int, s: int) -> HeadCost:
    """Time, traffic, energy and working set of one head of a t-query, s-key chunk on a cluster.

    The cluster streams the head's K and V from the L2 in blocks of ``kv_block_keys`` keys
    (double-buffered) and keeps Q, the output and the t x s scores in its TCDM; what of that
    overflows the TCDM is streamed through the L2 as well."""
    pmca = hw.pmca
    d, e = op.head_dim, pmca.bytes_per_element
    cyc = (snitch.gemm_cycles(t, d, s, pmca) + snitch.gemm_cycles(t, s, d, pmca)
           + snitch.vector_cycles(op.softmax_flops * t * s, pmca))
    compute = cyc / pmca.clock_ghz
    ws = int(e * (2 * t * d + t * s + 4 * min(s, hw.attention.kv_block_keys) * d))
    dma = float(e * (2 * t * d + 2 * s * d)) + interconnect.overflow_bytes(ws, pmca)
    macs = snitch.gemm_padded_macs(t, d, s, pmca) + snitch.gemm_padded_macs(t, s, d, pmca)
    core_flops = op.softmax_flops * t * s + 2 * (snitch.gemm_core_macs(t, d, s, pmca)
                                                 + snitch.gemm_core_macs(t, s, d, pmca))
    # Q, K, V and the output move between the L2 and the TCDM (and over the link) by DMA
    energy = snitch.compute_pj(macs, core_flops, pmca) + memory.transfer_pj(dma, dma, hw,
                                                                        l2_over_link=True)
    return HeadCost(ns=interconnect.streamed_ns(compute, dma, pmca), compute_ns=compute,
                    dma_bytes=dma, energy_pj=energy, tcdm_bytes=ws)


def head_costs(op: AttentionOp, hw: HardwareSpec, sizes: list[int]) -> list[HeadCost]:
    """:func:`head_cost` of each query chunk (computed once per distinct chunk and key count)."""
    memo: dict[tuple[int, int], HeadCost] = {}
    out = []
    for t, s in zip(sizes, key_counts(op, sizes)):
        if (t, s) not in memo:
            memo[(t, s)] = head_cost(op, hw, t, s)
        out.append(memo[(t, s)])
    return out


def head_ns(op: AttentionOp, hw: HardwareSpec, sizes: list[int]) -> np.ndarray:
    """Time of one head of each query chunk on one cluster, ns."""
    return np.array([c.ns for c in head_costs(op, hw, sizes)])
