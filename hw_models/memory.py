"""The digital side's memories and wires from the component data (:mod:`hw_models.components`):
TCDM and L2 SRAM figures from CACTI at the PMCA's node, the link's wire energy, and the energy of
data moved into or out of a cluster's TCDM. Pure functions; energy in pJ, area in mm^2, power in
mW.

The TCDM is a Snitch cluster's 32 banks of 64 bit, the L2 four banks of 64 bit (an assumption: a
banked 1 MiB L2 behind 128-bit ports; CACTI gives 2.9 pJ/B for one bank, 2.5 for sixteen). Sizes
outside the tabulated range (TCDM 16..4096 KiB, L2 128 KiB..16 MiB) are extrapolated from the
nearest tabulated size: area and leakage in proportion to the size, energy per byte held.
"""

from __future__ import annotations

import dataclasses
import functools

from . import components
from .components import SramFigures
from .specs import HardwareSpec, PmcaSpec

#: the AIMC tiles' node: HERMES's 14 nm CMOS (Le Gallo et al. 2023); its ADC and periphery
#: figures are taken there
TILE_NODE_NM = 14.0
#: the node the PMCA's published figures (RedMulE, the PULP/Snitch clusters) are quoted at
PMCA_REF_NODE_NM = 22.0
TCDM_BANKS, TCDM_WIDTH = 32, 64
L2_BANKS, L2_WIDTH = 4, 64


@functools.lru_cache(maxsize=256)
def sram(kib: float, node_nm: float, banks: int, width_bits: int) -> SramFigures:
    """CACTI figures of an SRAM (see the module docstring for sizes outside the table)."""
    xs = components._tables().sram[(float(node_nm), int(banks), int(width_bits))].x
    lo, hi = float(xs[0]), float(xs[-1])
    at = min(max(float(kib), lo), hi)
    f = components.sram(at, node_nm, banks, width_bits)
    if at == kib:
        return f
    k = float(kib) / at
    return dataclasses.replace(f, kib=float(kib), area_mm2=f.area_mm2 * k,
                               leakage_mw=f.leakage_mw * k)


def tcdm(pmca: PmcaSpec) -> SramFigures:
    """One cluster's TCDM (``pmca.tcdm_kib``, 32 x 64-bit banks) at ``pmca.node_nm``."""
    return sram(float(pmca.tcdm_kib), pmca.node_nm, TCDM_BANKS, TCDM_WIDTH)


def l2(hw: HardwareSpec) -> SramFigures:
    """One chip's L2 (``chip.l2_kib``, 4 x 64-bit banks) at ``pmca.node_nm``."""
    return sram(float(hw.chip.l2_kib), hw.pmca.node_nm, L2_BANKS, L2_WIDTH)


def _per_byte(f: SramFigures) -> float:
    return 0.5 * (f.read_pj_per_byte + f.write_pj_per_byte)


def tcdm_pj_per_byte(pmca: PmcaSpec) -> float:
    """TCDM energy per byte moved in or out, pJ: the mean of CACTI's read and write energy
    (0.85 pJ/B for 128 KiB at 22 nm)."""
    return _per_byte(tcdm(pmca))


def l2_pj_per_byte(hw: HardwareSpec) -> float:
    """L2 energy per byte moved, pJ: the mean of CACTI's read and write energy (2.48 pJ/B for
    1 MiB in 4 banks at 22 nm)."""
    return _per_byte(l2(hw))


def link_pj_per_byte(pmca: PmcaSpec) -> float:
    """Energy of one byte over the on-chip link, pJ: hwcomponents-library's wire (0.2 fF/um,
    0.7 V, 0.784 pJ per byte per mm at full swing) x ``wire_activity`` x ``link_mm`` (0.39 pJ/B
    at the defaults, against Horowitz's 45 nm 2 pJ/B)."""
    return components.wire_pj_per_byte_mm(pmca.node_nm) * pmca.wire_activity * pmca.link_mm


def transfer_pj(link_bytes: float, l2_bytes: float, hw: HardwareSpec,
                l2_over_link: bool = False) -> float:
    """Energy of data moved into or out of a cluster's TCDM, pJ: ``link_bytes`` over the on-chip
    link (tile readout, DMA between clusters or into the tiles) and ``l2_bytes`` between the L2
    and the TCDM (``l2_over_link``: those bytes are also among ``link_bytes``). Every byte moved
    costs one TCDM access: it lands in or leaves the TCDM (the compute's own operand traffic is
    in the cluster-level efficiencies, :func:`hw_models.snitch.compute_pj`)."""
    pmca = hw.pmca
    tcdm_bytes = link_bytes + (0.0 if l2_over_link else l2_bytes)
    return (link_bytes * link_pj_per_byte(pmca) + l2_bytes * l2_pj_per_byte(hw)
            + tcdm_bytes * tcdm_pj_per_byte(pmca))
