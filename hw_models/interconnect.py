"""Data movement: tile readout into the TCDM, cluster DMA, TCDM <-> L2 traffic. Times in ns;
the energy of a transfer over the on-chip wires in pJ (:func:`link_pj_per_byte`, a wire model).

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


def link_pj_per_byte(pmca: PmcaSpec) -> float:
    """Energy of one byte over the on-chip link, pJ: a wire model, 8 bits x toggle activity x
    C per mm x length x V^2 (0.5 x 200 fF/mm x 1 mm x 0.8^2 V^2 = 0.064 pJ per bit, 0.51 pJ/B at
    the defaults; Horowitz's 45 nm ~2 pJ/B/mm is ~4x this at 0.9 V with full swing)."""
    return 8.0 * pmca.wire_activity * pmca.wire_ff_per_mm * 1e-3 * pmca.link_mm * \
        pmca.wire_vdd_v ** 2
