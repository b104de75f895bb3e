"""Data movement: tile readout into the TCDM, cluster DMA, TCDM <-> L2 traffic. Times in ns (their
energy: :mod:`hw_models.memory`).

Pure functions of a :class:`~hw_models.specs.PmcaSpec` (bandwidths in B/cycle at ``clock_ghz``).
"""

from __future__ import annotations

from .specs import PmcaSpec


def readout_ns(nbytes: float, pmca: PmcaSpec) -> float:
    """Time to move ``nbytes`` of tile outputs (after the ADCs) into the PMCA TCDM, ns."""
    return nbytes / (pmca.link_bytes_per_cycle * pmca.clock_ghz)


def dma_ns(nbytes: float, pmca: PmcaSpec) -> float:
    """Time for the cluster DMA to move ``nbytes`` between clusters or into the TCDM, ns."""
    return nbytes / (pmca.dma_bytes_per_cycle * pmca.clock_ghz)


def l2_ns(nbytes: float, pmca: PmcaSpec) -> float:
    """Time to move ``nbytes`` between the TCDM and the L2/SRAM behind the cluster, ns."""
    return nbytes / (pmca.l2_bytes_per_cycle * pmca.clock_ghz)


def overflow_bytes(working_set: float, pmca: PmcaSpec) -> float:
    """L2 traffic per chunk caused by a working set larger than the TCDM, bytes.

    What does not fit stays in the L2 and is streamed through the TCDM in blocks, once per chunk
    (the excess, 1 x), by the DMA while the cluster computes (see :func:`streamed_ns`). Zero when
    the working set fits. Never an error: slower, and reported.
    """
    excess = working_set - pmca.tcdm_kib * 1024
    return float(excess) if excess > 0 else 0.0


def streamed_ns(compute_ns: float, l2_bytes: float, pmca: PmcaSpec) -> float:
    """Time of a job whose L2 traffic is streamed in blocks by the DMA, double-buffered with its
    compute: the slower of the two (the first block's load is not hidden, bounded by the max)."""
    return max(compute_ns, l2_ns(l2_bytes, pmca))


def allreduce_ns(nbytes: float, parties: int, pmca: PmcaSpec) -> float:
    """All-reduce of an ``nbytes`` buffer over ``parties`` clusters by their DMAs, ns: a ring moves
    ``2 (p - 1) / p`` of the buffer through each cluster's DMA (reduce-scatter + all-gather)."""
    if parties <= 1 or nbytes <= 0:
        return 0.0
    return dma_ns(2.0 * (parties - 1) / parties * nbytes, pmca)

