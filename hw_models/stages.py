"""Per-chunk stage times and costs of each node of a network: the numbers both engines (closed form
and discrete-event) schedule. Pure functions; times in ns, memory in bytes, energy in pJ.

A linear layer is two pipeline stages per chunk of t tokens:

* tile: t MVMs (``aimc_ns``) and, with a single output buffer, the readout of the t x n outputs
  into the PMCA TCDM (``readout_ns``); with two output buffers the readout is its own stage;
* PMCA: the LoRA job (``lora_ns``), the partial-sum accumulation and exchange of a layer split over
  row tiles, TCDM <-> L2 streaming when the working set overflows, and the fused element-wise
  post-ops (``post_ns``). ``pmca_ns`` (the contract figure) is all of it but the post-ops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import aimc, interconnect, snitch
from .specs import HardwareSpec
from .workload import AttentionOp


@dataclass(frozen=True)
class LayerStage:
    """One chunk of ``t`` tokens through one linear layer (per PMCA where split)."""

    t: int
    aimc_ns: float        #: t MVMs on the layer's tiles (in parallel)
    readout_ns: float     #: tile outputs -> TCDM
    lora_ns: float        #: offload + X A + (X A) B + add
    accum_ns: float       #: partial sums of row tiles: exchange (DMA) and adds
    l2_ns: float          #: TCDM <-> L2 streaming of the overflowing working set
    post_ns: float        #: fused element-wise post-ops (network only)
    tcdm_bytes: int       #: peak working set of one PMCA
    l2_bytes: float       #: L2 traffic of one PMCA
    energy_pj: float      #: whole layer (all tiles and PMCAs), this chunk
    pmcas: int            #: PMCAs (= tiles) of the layer

    @property
    def pmca_ns(self) -> float:
        """PMCA time of the chunk without post-ops: LoRA + accumulation + L2 streaming."""
        return self.lora_ns + self.accum_ns + self.l2_ns

    @property
    def tile_ns(self) -> float:
        """Occupancy of the tile stage (integration, and readout when single-buffered)."""
        return self.aimc_ns + (self.readout_ns if self.single_buffer else 0.0)

    single_buffer: bool = True  #: readout on the tile stage (one output buffer)


def layer_stage(m: int, n: int, hw: HardwareSpec, rank: int, t: int,
                post_flops: float = 0.0) -> LayerStage:
    """Stage times and costs of a chunk of t tokens through an m x n layer with a rank-r adapter."""
    tile, pmca = hw.aimc, hw.pmca
    rt, ct = aimc.tile_grid(m, n, tile)
    share = snitch.lora_share(m, n, rt, ct)
    e = pmca.bytes_per_element
    clk = pmca.clock_ghz
    n_tile = math.ceil(n / ct)  # outputs of one tile
    out_bytes = t * n_tile * e
    aimc_ns = aimc.chunk_ns(t, tile)
    readout = interconnect.readout_ns(out_bytes, pmca)
    lora_cyc = snitch.lora_cycles(t, share, rank, pmca)
    exch_bytes = out_bytes * (rt - 1) / rt if rt > 1 else 0.0
    accum_cyc = snitch.accumulate_cycles(t, share, pmca)
    accum = accum_cyc / clk + interconnect.dma_ns(exch_bytes, pmca)
    ws = snitch.tcdm_bytes(t, share, rank, pmca)
    l2_bytes = interconnect.overflow_bytes(ws, pmca)
    l2 = interconnect.l2_ns(l2_bytes, pmca)
    pmcas = rt * ct
    post_cyc = snitch.vector_cycles(post_flops * t / pmcas, pmca)
    # energy of the whole layer for this chunk
    macs = snitch.lora_padded_macs(t, share, rank, pmca)
    core_flops = t * share.n * (share.row_tiles - 1) + post_flops * t / pmcas
    tcdm_traffic = out_bytes + (e * (t * share.m + share.m * rank + 2 * t * rank + rank * share.n
                                     + 2 * t * share.n) if rank > 0 else 0)
    if pmca.redmule_fma:
        compute_pj = macs * pmca.redmule_pj_per_mac + core_flops * pmca.core_pj_per_flop
    else:
        compute_pj = (2 * macs + core_flops) * pmca.core_pj_per_flop
    per_pmca_pj = (compute_pj + tcdm_traffic * pmca.tcdm_pj_per_byte
                   + (out_bytes + exch_bytes) * pmca.link_pj_per_byte
                   + l2_bytes * pmca.l2_pj_per_byte)
    energy = aimc.layer_energy_pj(m, n, t, tile) + pmcas * per_pmca_pj
    return LayerStage(t=t, aimc_ns=aimc_ns, readout_ns=readout, lora_ns=lora_cyc / clk,
                      accum_ns=accum, l2_ns=l2, post_ns=post_cyc / clk, tcdm_bytes=ws,
                      l2_bytes=l2_bytes, energy_pj=energy, pmcas=pmcas,
                      single_buffer=tile.output_buffers == 1)


def chunk_sizes(seq_len: int, t: int) -> list[int]:
    """Token counts of the chunks of a sequence: ``seq_len // t`` chunks of t and the remainder."""
    full, rest = divmod(seq_len, t)
    return [t] * full + ([rest] if rest else [])


def attention_ns(op: AttentionOp, hw: HardwareSpec, sizes: list[int]) -> np.ndarray:
    """Time of each query chunk's attention on one PMCA, ns: per head Q K^T (t x d x S) and P V
    (t x S x d) on RedMule, softmax on the cores; S = all keys, or keys up to the chunk (causal)."""
    pmca = hw.pmca
    seq = sum(sizes)
    out = np.empty(len(sizes))
    end = 0
    cache: dict[tuple[int, int], float] = {}
    for k, t in enumerate(sizes):
        end += t
        s = end if op.causal else seq
        key = (t, s)
        if key not in cache:
            cyc = op.heads * (snitch.gemm_cycles(t, op.head_dim, s, pmca)
                              + snitch.gemm_cycles(t, s, op.head_dim, pmca)
                              + snitch.vector_cycles(op.softmax_flops * t * s, pmca))
            cache[key] = cyc / pmca.clock_ghz
        out[k] = cache[key]
    return out


def attention_energy_pj(op: AttentionOp, hw: HardwareSpec, sizes: list[int]) -> float:
    """Energy of one block's attention over the sequence, pJ (RedMule MACs, softmax, TCDM)."""
    pmca = hw.pmca
    seq = sum(sizes)
    total, end = 0.0, 0
    for t in sizes:
        end += t
        s = end if op.causal else seq
        macs = (snitch.gemm_padded_macs(t, op.head_dim, s, pmca)
                + snitch.gemm_padded_macs(t, s, op.head_dim, pmca))
        flops = op.softmax_flops * t * s
        mac_pj = pmca.redmule_pj_per_mac if pmca.redmule_fma else 2 * pmca.core_pj_per_flop
        traffic = pmca.bytes_per_element * (2 * t * op.head_dim + 2 * s * op.head_dim + 2 * t * s)
        total += op.heads * (macs * mac_pj + flops * pmca.core_pj_per_flop
                             + traffic * pmca.tcdm_pj_per_byte)
    return total
