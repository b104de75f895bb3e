"""Size and cost of a network on the hardware: tiles, PMCA clusters, TCDM, silicon area per
component, chips, and the static (leakage) power. Pure functions of the specs; area in mm^2,
power in mW, energy in pJ (1 mW x 1 ns = 1 pJ).

Weights are stationary: every tile of every layer exists at once, each AIMC tile with its own PMCA
cluster (Snitch cores + RedMulE + TCDM), and the tiles fill ``chip.tiles_per_chip``-tile chips,
each with its L2. Area model (constants and their sources in :class:`~hw_models.specs.ChipSpec`):

* AIMC tile: the HERMES 256 x 256 core area, its crossbar share scaled by rows x cols and its
  periphery share (ADCs, input drivers, local digital) by rows + cols;
* PMCA cluster: compute cores x core area + RedMulE FMAs x area per FMA (22 nm figures scaled to
  ``pmca.node_nm`` by Stillmaker & Baas) + the TCDM's CACTI area (:mod:`hw_models.memory`);
* chip: the L2's CACTI area.

Leakage: a library cell's leakage density (``chip.logic_leakage_cell``, hwcomponents-library) x
the AIMC periphery (at the tiles' 14 nm) and the cores and RedMulE (at ``pmca.node_nm``), plus
CACTI's leakage of every TCDM and L2, all x ``chip.leakage_scale``; the PCM crossbar is
non-volatile and leaks nothing. ``static_power_mw`` is everything on; the static
energy lets an idle tile's periphery draw only ``chip.aimc_idle_leakage_share`` of its leakage
and an idle cluster's logic ``chip.cluster_idle_leakage_share`` of its own (power gating; 1 by
default: none), each gated unit paying ``chip.wakeup_break_even_ns`` of its gated leakage per
chunk to wake up (:func:`gated_static_energy_pj`).
"""

from __future__ import annotations

import dataclasses
import math

from . import components, digital, memory
from .aimc import mvm_ns, tile_grid
from .reports import NetworkReport
from .specs import HardwareSpec
from .workload import Network

#: the area components, in report order
COMPONENTS = ("aimc_array", "aimc_periphery", "pmca_cores", "redmule", "tcdm", "l2")


def tile_area_mm2(hw: HardwareSpec) -> dict[str, float]:
    """Area of one AIMC tile, mm^2: ``aimc_array`` (crossbar) and ``aimc_periphery``."""
    a, c = hw.aimc, hw.chip
    cells = (a.rows * a.cols) / (c.hermes_core_rows * c.hermes_core_cols)
    edge = (a.rows + a.cols) / (c.hermes_core_rows + c.hermes_core_cols)
    return {"aimc_array": c.hermes_core_mm2 * c.array_area_share * cells,
            "aimc_periphery": c.hermes_core_mm2 * (1.0 - c.array_area_share) * edge
            * converter_area_scale(hw)}


def converter_area_scale(hw: HardwareSpec) -> float:
    """The tile periphery's area relative to its 8-bit size: the ADC share scales with the
    converter's area at its bits relative to 8 bit (SAR, ramp, flash: hwcomponents-adc's survey
    fit at 14 nm and the tile's conversion rate, or x2 per bit with ``adc_model = fom``; a CCO's
    counter with bits/8), the input encoders' share with bits/8, the rest (local digital,
    drivers) not at all."""
    a, c = hw.aimc, hw.chip
    if a.adc_kind == "cco":
        adc = a.adc_bits / 8.0
    elif a.adc_model == "fom":
        adc = 2.0 ** (a.adc_bits - 8)
    else:
        rate = min(max(1e9 / mvm_ns(a), 1e6), 1e9)
        adc = _fit_adc_area(a.adc_bits, rate) / _fit_adc_area(8, rate)
    rest = 1.0 - c.adc_area_share - c.dac_area_share
    return max(rest, 0.0) + c.adc_area_share * adc + c.dac_area_share * a.dac_bits / 8.0


def _fit_adc_area(bits: int, rate_hz: float) -> float:
    """hwcomponents-adc's ADC area at the tiles' node, um^2; below its 4-bit floor x1/2 per bit."""
    if bits < 4:
        return components.adc_area_um2(4, memory.TILE_NODE_NM, rate_hz) * 2.0 ** (bits - 4)
    return components.adc_area_um2(bits, memory.TILE_NODE_NM, rate_hz)


def cluster_area_mm2(hw: HardwareSpec) -> dict[str, float]:
    """Area of one PMCA cluster, mm^2: ``pmca_cores``, ``redmule`` and ``tcdm``."""
    p, c = hw.pmca, hw.chip
    s = components.scale("area", memory.PMCA_REF_NODE_NM, p.node_nm)
    return {"pmca_cores": s * p.compute_cores * c.core_mm2,
            "redmule": s * p.redmule_fma * c.redmule_mm2_per_fma,
            "tcdm": memory.tcdm(p).area_mm2}


def pair_area_mm2(hw: HardwareSpec) -> float:
    """Area of one tile + its PMCA cluster, mm^2."""
    return sum(tile_area_mm2(hw).values()) + sum(cluster_area_mm2(hw).values())


def chip_l2_mm2(hw: HardwareSpec) -> float:
    """Area of one chip's L2, mm^2."""
    return memory.l2(hw).area_mm2 if hw.chip.l2_kib else 0.0


def chip_area_mm2(hw: HardwareSpec) -> float:
    """Area of one full chip, mm^2: ``tiles_per_chip`` tile + PMCA pairs and the L2."""
    return hw.chip.tiles_per_chip * pair_area_mm2(hw) + chip_l2_mm2(hw)


def network_tiles(network: Network, hw: HardwareSpec) -> int:
    """AIMC tiles holding every linear layer of the network (each layer on its own tiles)."""
    return sum(math.prod(tile_grid(L.m, L.n, hw.aimc)) * L.count for L in network.layers)


def chips_needed(tiles: int, hw: HardwareSpec) -> int:
    """Chips that hold ``tiles`` tiles (weights stationary: all of them must exist)."""
    return math.ceil(tiles / hw.chip.tiles_per_chip)


def dedicated_clusters(network: Network, hw: HardwareSpec) -> int:
    """Attention clusters without a tile (``attention.mapping = dedicated``), every block."""
    if hw.attention.mapping != "dedicated" or not network.digital_ops:
        return 0
    return hw.attention.dedicated_clusters * network.num_hidden_layers


def area_breakdown_mm2(tiles: int, hw: HardwareSpec, extra_clusters: int = 0,
                       chips: int | None = None) -> dict[str, float]:
    """Silicon of ``tiles`` tile + PMCA pairs (and ``extra_clusters`` clusters without a tile)
    and the L2 of the chips (default: those the tiles need), per component."""
    out = {k: tiles * v for k, v in tile_area_mm2(hw).items()}
    out.update({k: (tiles + extra_clusters) * v for k, v in cluster_area_mm2(hw).items()})
    out["l2"] = (chips_needed(tiles, hw) if chips is None else chips) * chip_l2_mm2(hw)
    return {k: out[k] for k in COMPONENTS}


def leakage_density_mw_per_mm2(hw: HardwareSpec) -> tuple[float, float]:
    """(AIMC periphery at 14 nm, PMCA logic at ``pmca.node_nm``) leakage density, mW/mm^2:
    ``chip.logic_leakage_cell``'s (hwcomponents-library) x ``chip.leakage_scale``."""
    c = hw.chip
    cell = c.logic_leakage_cell
    return (c.leakage_scale * components.logic_leakage_mw_per_mm2(memory.TILE_NODE_NM, cell),
            c.leakage_scale * components.logic_leakage_mw_per_mm2(hw.pmca.node_nm, cell))


def static_power_mw(breakdown: dict[str, float], tiles: int, hw: HardwareSpec,
                    clusters: int | None = None, chips: int | None = None) -> float:
    """Leakage power, mW, of the silicon in ``breakdown`` (from :func:`area_breakdown_mm2`);
    ``clusters``: the PMCA clusters (default: one per tile); ``chips``: the chips whose L2
    leaks (default: those the tiles need)."""
    c = hw.chip
    tile_d, pmca_d = leakage_density_mw_per_mm2(hw)
    logic = tile_d * breakdown["aimc_periphery"] + pmca_d * (breakdown["pmca_cores"]
                                                             + breakdown["redmule"])
    clusters = tiles if clusters is None else clusters
    l2_mw = memory.l2(hw).leakage_mw if c.l2_kib else 0.0
    chips = chips_needed(tiles, hw) if chips is None else chips
    sram = clusters * memory.tcdm(hw.pmca).leakage_mw + chips * l2_mw
    return logic + c.leakage_scale * sram


def static_energy_pj(power_mw: float, latency_ns: float, idle_tile_ns: float = 0.0,
                     hw: HardwareSpec | None = None) -> float:
    """Leakage energy over ``latency_ns``, pJ (mW x ns = pJ): ``power_mw`` all the time, less the
    gated part of the AIMC periphery's leakage over ``idle_tile_ns`` (tile-nanoseconds in which a
    tile does not integrate; ``chip.aimc_idle_leakage_share`` of it is still drawn). No wake-up
    cost: see :func:`gated_static_energy_pj` for the network's figure."""
    energy = power_mw * latency_ns
    if hw is not None and idle_tile_ns:
        periph_mw = leakage_density_mw_per_mm2(hw)[0] * tile_area_mm2(hw)["aimc_periphery"]
        energy -= (1.0 - hw.chip.aimc_idle_leakage_share) * periph_mw * idle_tile_ns
    return energy


def gated_leakage_mw(hw: HardwareSpec) -> tuple[float, float]:
    """(tile, cluster) leakage that power gating removes from one idle unit, mW: the gated share
    of a tile's periphery leakage and of a cluster's logic (cores, RedMulE) leakage."""
    c = hw.chip
    tile_d, pmca_d = leakage_density_mw_per_mm2(hw)
    tile = tile_d * tile_area_mm2(hw)["aimc_periphery"]
    parts = cluster_area_mm2(hw)
    cluster = pmca_d * (parts["pmca_cores"] + parts["redmule"])
    return ((1.0 - c.aimc_idle_leakage_share) * tile,
            (1.0 - c.cluster_idle_leakage_share) * cluster)


def gated_static_energy_pj(power_mw: float, latency_ns: float, idle_tile_ns: float,
                           idle_cluster_ns: float, wakeups: tuple[float, float],
                           hw: HardwareSpec) -> float:
    """Leakage energy over ``latency_ns`` with power gating, pJ: ``power_mw`` all the time, less
    the gated leakage (:func:`gated_leakage_mw`) over the idle unit-nanoseconds of tiles and
    clusters, plus ``wakeups`` (tile, cluster wake-ups) x ``chip.wakeup_break_even_ns`` x that
    gated leakage. With no gating (shares 1) it is ``power_mw x latency_ns``."""
    tile_mw, cluster_mw = gated_leakage_mw(hw)
    wake = hw.chip.wakeup_break_even_ns
    return (power_mw * latency_ns - tile_mw * (idle_tile_ns - wake * wakeups[0])
            - cluster_mw * (idle_cluster_ns - wake * wakeups[1]))


def idle_tile_ns(layers, latency_ns: float) -> float:
    """Tile-nanoseconds in which the network's tiles do not integrate, from the layer reports'
    ``aimc_utilisation`` (busy share of ``latency_ns``), ``tiles`` and ``count``."""
    return sum(L.tiles * L.count * (1.0 - L.aimc_utilisation) * latency_ns for L in layers)


def idle_cluster_ns(layers, clusters: int, latency_ns: float, attention_ns: float) -> float:
    """Cluster-nanoseconds in which the network's PMCA clusters have no work: all clusters over
    ``latency_ns`` less each layer's PMCA busy time (``pmca_utilisation``) and the clusters'
    attention time ``attention_ns`` (summed over heads)."""
    busy = sum((L.tiles or getattr(L, "clusters", 0)) * L.count * L.pmca_utilisation
               * latency_ns for L in layers)
    return max(0.0, clusters * latency_ns - busy - attention_ns)


def slot_equivalents(clusters: int, hw: HardwareSpec) -> int:
    """Tile + cluster slots of a chip that ``clusters`` clusters without a tile take: their
    share of a pair's area, rounded up."""
    if clusters <= 0:
        return 0
    return math.ceil(clusters * sum(cluster_area_mm2(hw).values()) / pair_area_mm2(hw))


def network_chips(network: Network, hw: HardwareSpec) -> int:
    """Chips of a network: those its tiles need, or with digital layers (``hw.digital``) its
    tiles plus the digital clusters at their share of a pair's area (at least one chip)."""
    if not hw.digital.active:
        return chips_needed(network_tiles(network, hw), hw)
    tiles, clusters = digital.tiles_and_clusters(network, hw, digital.resolve(network, hw.digital))
    return max(1, math.ceil((tiles + slot_equivalents(clusters, hw)) / hw.chip.tiles_per_chip))


def digital_mapping(network: Network, hw: HardwareSpec, lora) -> digital.Mapping | None:
    """:func:`hw_models.digital.mapping` with the network's chips' L2."""
    if not hw.digital.active:
        return None
    return digital.mapping(network, hw, lora, network_chips(network, hw))


def network_size(network: Network, hw: HardwareSpec) -> tuple[int, int, dict[str, float], float]:
    """(tiles, PMCA clusters, area per component in mm^2, leakage power in mW) of a network.
    Digital layers (``hw.digital``) have clusters and no tiles."""
    tiles, extra = network_tiles(network, hw), 0
    if hw.digital.active:
        tiles, extra = digital.tiles_and_clusters(network, hw,
                                                  digital.resolve(network, hw.digital))
    clusters = tiles + extra + dedicated_clusters(network, hw)
    chips = network_chips(network, hw)
    parts = area_breakdown_mm2(tiles, hw, clusters - tiles, chips)
    return tiles, clusters, parts, static_power_mw(parts, tiles, hw, clusters, chips)


def with_size(report: NetworkReport, network: Network, hw: HardwareSpec) -> NetworkReport:
    """``report`` with its size, area, chip and static-energy fields filled in; its
    ``energy_pj`` (dynamic) gains the leakage energy over ``total_ns`` (with power gating where
    ``hw.chip`` asks for it, :func:`gated_static_energy_pj`)."""
    tiles, clusters, parts, power = network_size(network, hw)
    chunks = math.ceil(report.seq_len / report.tokens)
    static = gated_static_energy_pj(
        power, report.total_ns, idle_tile_ns(report.layers, report.total_ns),
        idle_cluster_ns(report.layers, clusters, report.total_ns, report.attention_ns),
        (tiles * chunks, clusters * chunks), hw)
    return dataclasses.replace(
        report, tiles=tiles, pmca_clusters=clusters,
        tcdm_total_bytes=clusters * hw.pmca.tcdm_kib * 1024, area_mm2=sum(parts.values()),
        area_by_component_mm2=parts, chips=network_chips(network, hw),
        chip_area_mm2=chip_area_mm2(hw), static_power_mw=power, static_energy_pj=static,
        dynamic_energy_pj=report.energy_pj, energy_pj=report.energy_pj + static)
