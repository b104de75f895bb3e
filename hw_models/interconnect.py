"""Data movement: tile readout into the TCDM, cluster DMA, TCDM <-> L2 traffic. Times in ns.

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
    """L2 traffic caused by a working set larger than the TCDM, bytes.

    What does not fit is tiled: each overflowing byte is written to L2 and read back once
    (2 x the excess). Zero when the working set fits. Never an error: slower, and reported.
    """
    excess = working_set - pmca.tcdm_kib * 1024
    return 2.0 * excess if excess > 0 else 0.0
