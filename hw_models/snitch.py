"""The PMCA's compute: RedMule GEMMs, Snitch-core vector work, the LoRA job of one chunk, and the
TCDM working set. Pure functions; cycles are PMCA clock cycles, bytes are bytes.

RedMule (Tortorella et al. 2022, RedMulE RTL) is an array of ``redmule_fma / H`` rows x ``H`` CEs,
each with ``P`` pipeline registers. For Z[M x K] = X[M x N] W[N x K] (+ Y) it computes output tiles of
``rows x H (P+1)`` elements, streaming the N reduction at ``P+1`` cycles per element, so a tile takes
``(P+1) N / efficiency`` cycles plus a fixed fill/drain (``redmule_tile_cycles``). Shapes that do not
fill a tile waste it: a rank-8 X A (K = 8) uses half of a 16-wide tile, a one-token GEMV one of its
rows; a GEMM runs on the cores instead when they are faster. The add of the LoRA output
to the AIMC output is fused in the second GEMM (RedMulE's Z = X W + Y).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from .components import scale
from .specs import PmcaSpec


def core_flops_per_cycle(pmca: PmcaSpec) -> float:
    """Sustained FP16 FLOP (one lane-op) per cycle of the compute cores (FREP/SSR, utilisation)."""
    return pmca.compute_cores * pmca.simd_fp16 * pmca.core_utilisation


def _redmule_cycles(M: int, N: int, K: int, pmca: PmcaSpec) -> float:
    rows = pmca.redmule_fma // pmca.redmule_height
    width = pmca.redmule_height * (pmca.redmule_pipe_regs + 1)
    tiles = math.ceil(M / rows) * math.ceil(K / width)
    per_tile = (pmca.redmule_pipe_regs + 1) * N / pmca.redmule_efficiency + pmca.redmule_tile_cycles
    return tiles * per_tile


def on_redmule(M: int, N: int, K: int, pmca: PmcaSpec) -> bool:
    """Whether a GEMM runs on RedMule: when there is one and the GEMM has at least as many rows
    as its array, or fewer but RedMule is still faster than the cores (a one-token GEMV fills one
    row of the array, and the cores win)."""
    if not pmca.redmule_fma:
        return False
    return M >= pmca.redmule_fma // pmca.redmule_height or \
        _redmule_cycles(M, N, K, pmca) <= M * N * K / core_flops_per_cycle(pmca)


def gemm_cycles(M: int, N: int, K: int, pmca: PmcaSpec) -> float:
    """Cycles of Z[M x K] = X[M x N] W[N x K] on RedMule or on the cores, whichever is faster."""
    if M <= 0 or N <= 0 or K <= 0:
        return 0.0
    if on_redmule(M, N, K, pmca):
        return _redmule_cycles(M, N, K, pmca)
    return M * N * K / core_flops_per_cycle(pmca)


def gemm_padded_macs(M: int, N: int, K: int, pmca: PmcaSpec) -> float:
    """MACs RedMule performs for a GEMM, padding partial tiles (energy basis); 0 when the GEMM
    runs on the cores (see :func:`gemm_core_macs`)."""
    if M <= 0 or N <= 0 or K <= 0 or not on_redmule(M, N, K, pmca):
        return 0.0
    rows = pmca.redmule_fma // pmca.redmule_height
    width = pmca.redmule_height * (pmca.redmule_pipe_regs + 1)
    return float(math.ceil(M / rows) * rows * math.ceil(K / width) * width * N)


def gemm_core_macs(M: int, N: int, K: int, pmca: PmcaSpec) -> float:
    """MACs the cores perform for a GEMM (those RedMule does not take), 2 FLOP each."""
    if M <= 0 or N <= 0 or K <= 0 or on_redmule(M, N, K, pmca):
        return 0.0
    return float(M * N * K)


def vector_cycles(flops: float, pmca: PmcaSpec) -> float:
    """Cycles of element-wise work (adds, softmax, norms, activations) on the compute cores."""
    return flops / core_flops_per_cycle(pmca)


@dataclass(frozen=True)
class LoraShare:
    """One PMCA's share of a layer split over row x column tiles (see :func:`lora_share`)."""

    m: int            #: inputs whose X A partial this PMCA computes
    n: int            #: outputs whose (X A) B and accumulation this PMCA owns
    row_tiles: int    #: tiles whose partial sums meet here (1: no accumulation)
    col_tiles: int = 1  #: column tiles sharing the same X_i A_i (split over them by tokens)

    @property
    def pmcas(self) -> int:
        return self.row_tiles * self.col_tiles


def lora_share(m: int, n: int, row_tiles: int, col_tiles: int) -> LoraShare:
    """Split of a layer's LoRA and partial-sum work over its ``row_tiles x col_tiles`` PMCAs.

    The ``col_tiles`` PMCAs of row i hold the same inputs X_i: they split X_i A_i by tokens (each
    computes ``ceil(t / col_tiles)`` rows of it, so it is computed once), and the rank-r partials
    of all PMCAs are all-reduced (:func:`~hw_models.interconnect.allreduce_ns`). PMCA (i, j) then
    owns ``ceil(ceil(n / col_tiles) / row_tiles)`` outputs of column block j: their (X A) B and the
    sum of the row tiles' partial outputs. One tile: the whole layer.
    """
    n_block = math.ceil(n / col_tiles)
    return LoraShare(m=math.ceil(m / row_tiles), n=math.ceil(n_block / row_tiles),
                     row_tiles=row_tiles, col_tiles=col_tiles)


def lora_cycles(t: int, share: LoraShare, rank: int, pmca: PmcaSpec) -> float:
    """PMCA cycles of the LoRA job for a chunk of t tokens on one PMCA (0 when rank is 0).

    offload + GEMM(t / col_tiles x m x r) + GEMM(t x r x n) with the add fused (Z = (XA) B + Y);
    the all-reduce of the X A partials between them is DMA time (stages.layer_stage).
    """
    if rank <= 0:
        return 0.0
    return (pmca.offload_cycles + gemm_cycles(math.ceil(t / share.col_tiles), share.m, rank, pmca)
            + gemm_cycles(t, rank, share.n, pmca))


def accumulate_cycles(t: int, share: LoraShare, pmca: PmcaSpec) -> float:
    """Cycles to add the partial outputs of ``row_tiles`` tiles (t x n per PMCA, row_tiles-1 adds)."""
    return vector_cycles(t * share.n * (share.row_tiles - 1), pmca)


def tcdm_bytes(t: int, share: LoraShare, rank: int, pmca: PmcaSpec) -> int:
    """Peak working set of one PMCA for a chunk, bytes.

    With an adapter: X (its t / col_tiles x m rows), A (m x r), B (r x n), XA (t x r) and the
    output Y (t x n), plus the partials of the other row tiles; this reproduces the paper's
    8.2 / 21 KiB (t = 8) and 70 / 172 KiB (t = 128) for 128x128 / 512x128 at rank 8 in FP16.
    Without one: the landing buffer of the outputs (and partials).
    """
    e = pmca.bytes_per_element
    out = t * share.n * share.row_tiles
    if rank <= 0:
        return e * out
    tx = math.ceil(t / share.col_tiles)
    return e * (tx * share.m + share.m * rank + rank * share.n + t * rank + out)


def lora_padded_macs(t: int, share: LoraShare, rank: int, pmca: PmcaSpec) -> float:
    """MACs RedMule performs for one chunk's LoRA on one PMCA (padding included); X A is split
    over the column tiles, so summed over the layer's PMCAs it is counted once."""
    if rank <= 0:
        return 0.0
    return (gemm_padded_macs(math.ceil(t / share.col_tiles), share.m, rank, pmca)
            + gemm_padded_macs(t, rank, share.n, pmca))


def lora_core_macs(t: int, share: LoraShare, rank: int, pmca: PmcaSpec) -> float:
    """MACs of one chunk's LoRA that run on the cores (GEMMs RedMule would do slower)."""
    if rank <= 0:
        return 0.0
    return (gemm_core_macs(math.ceil(t / share.col_tiles), share.m, rank, pmca)
            + gemm_core_macs(t, rank, share.n, pmca))


@functools.lru_cache(maxsize=16)
def _energy_scale(node_nm: float) -> float:
    return scale("energy", 22.0, node_nm)


def compute_pj(redmule_macs: float, core_flops: float, pmca: PmcaSpec) -> float:
    """Energy of a job's compute, pJ: RedMulE MACs at its published point scaled to the clock
    (``redmule_pj_per_mac x redmule_energy_scale``) and core FLOPs, both quoted at 22 nm and
    scaled to ``pmca.node_nm`` by Stillmaker & Baas (``components.scale``). Both are cluster-level
    efficiencies, so they contain the TCDM traffic of their operands (counted once: no TCDM
    energy on top, see :func:`hw_models.memory.transfer_pj`)."""
    node = _energy_scale(pmca.node_nm)
    return node * (redmule_macs * pmca.redmule_pj_per_mac * pmca.redmule_energy_scale
                   + core_flops * pmca.core_pj_per_flop)

