"""Linear layers that stay digital: no tile, a RedMulE GEMM on their PMCA clusters, weights
streamed from where they fit.

A digital layer keeps the PMCA clusters its tiles would have had (``tile_grid``: one per m/rows x
n/cols block of W) and loses the tiles. Per chunk of t tokens each cluster computes its block,
Y_ij = X_i W_ij (a t x m_i x n_j GEMM, :func:`hw_models.snitch.gemm_cycles`), with the block's
weights (m_i n_j x bytes_per_element) from

* its TCDM, when they fit beside the cluster's working set (kept there: read at the cluster's
  own efficiency, no transfer);
* the chips' L2 (``digital.l2_share`` of it, layers in network order), streamed every chunk over
  the cluster's L2 port (``interconnect.l2_ns``; L2 + link + TCDM energy per byte);
* off-chip memory (:mod:`hw_models.offchip`): first-byte latency and the bytes at the devices'
  bandwidth, which every cluster that streams from it shares (assumption: in the pipeline's
  steady state they all stream at once); the devices' pJ/byte plus link and TCDM.

The stream is double-buffered with the GEMM (the slower of the two). Everything else of a layer
stays as on an analog layer (inputs moved in, LoRA when the placement puts an adapter there,
partial sums of row blocks, post-ops): :func:`digital_stage` is :func:`hw_models.stages.layer_stage`
without the tile and its readout, plus the GEMM. Area: the clusters stay, the tiles go; the chips
hold the tiles plus the digital clusters at their share of a tile + cluster pair's area
(:func:`hw_models.area.slot_equivalents`). Pure functions; ns, bytes, pJ.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

from . import aimc, interconnect, memory, offchip, snitch
from ._fields import SpecError
from .digital_spec import DigitalSpec, expanded, split
from .specs import PLACEMENTS, ROLES, HardwareSpec, LoraSpec
from .stages import LayerStage, layer_stage
from .workload import LinearLayer, Network

#: where a digital layer's weights live (see the module docstring)
HOMES = ("tcdm", "l2", "offchip")
#: a layer instance: (layer name, block index; -1 for a prologue layer)
Site = tuple[str, int]
#: where one cluster's weights come from and how many clusters share the off-chip bandwidth
Home = tuple[str, int]


def allowed_names(network: Network) -> str:
    """The names ``digital.layers`` accepts for a network, for error messages."""
    names = list(dict.fromkeys(L.name for L in network.layers))
    roles = sorted({L.role for L in network.layers})
    return (f"none, top-K, {', '.join(p for p in PLACEMENTS if p != 'none')}, roles "
            f"{', '.join(roles)}, layers {', '.join(names)}, or NAME@BLOCK with BLOCK "
            f"0..{network.num_hidden_layers - 1}")


def _sites_of(network: Network, token: str) -> set[Site]:
    name, block, _ = split(token)
    group = PLACEMENTS.get(name) or (frozenset({name}) if name in ROLES else None)
    blocks = network.num_hidden_layers
    if block is not None and not 0 <= block < blocks:
        raise SpecError(f"digital.layers: block {block} of {token!r} is not in 0..{blocks - 1} "
                        f"({network.name} has {blocks} blocks)")
    out: set[Site] = set()
    candidates = [(L, -1) for L in network.prologue] if block is None else []
    block_layers = [n for n in network.block if isinstance(n, LinearLayer)]
    for b in (range(blocks) if block is None else [block]):
        candidates += [(L, b) for L in block_layers]
    for L, b in candidates:
        if (L.role in group) if group is not None else (L.name == name):
            out.add((L.name, b))
    if not out:
        raise SpecError(f"digital.layers: {token!r} names no layer of {network.name}; allowed: "
                        f"{allowed_names(network)}")
    return out


def resolve(network: Network, spec: DigitalSpec) -> frozenset[Site]:
    """The layer instances ``spec`` keeps digital; SpecError naming ``digital.layers`` and the
    allowed names for one that names no layer of the network."""
    sites: set[Site] = set()
    for token in expanded(spec):
        sites |= _sites_of(network, token)
    return frozenset(sites)


def weight_bytes(m: int, n: int, hw: HardwareSpec) -> int:
    """Bytes of an m x n layer's weights at the PMCA's element size."""
    return m * n * hw.pmca.bytes_per_element


def block_share(m: int, n: int, hw: HardwareSpec) -> tuple[int, int]:
    """(inputs, outputs) of the W block one cluster of an m x n digital layer holds."""
    rt, ct = aimc.tile_grid(m, n, hw.aimc)
    return math.ceil(m / rt), math.ceil(n / ct)


def fits_tcdm(layer: LinearLayer, hw: HardwareSpec, rank: int) -> bool:
    """Whether a cluster's weight block fits its TCDM beside its inputs and its working set (LoRA,
    partial sums) at a full chunk."""
    t, e = hw.tokens, hw.pmca.bytes_per_element
    mi, nj = block_share(layer.m, layer.n, hw)
    rt, ct = aimc.tile_grid(layer.m, layer.n, hw.aimc)
    ws = snitch.tcdm_bytes(t, snitch.lora_share(layer.m, layer.n, rt, ct), rank, hw.pmca)
    return ws + e * (t * mi + mi * nj) <= hw.pmca.tcdm_kib * 1024


@dataclass(frozen=True)
class Mapping:
    """The digital layer instances of a network and where their weights live."""

    sites: frozenset
    homes: dict          #: Site -> Home
    clusters: int        #: PMCA clusters of the digital layers (all instances)

    def home(self, name: str, block: int):
        """The Home of a layer instance, or None when it is analog."""
        return self.homes.get((name, block))

    def block_homes(self, block: int) -> frozenset:
        """(layer name, Home) of block ``block``'s digital layers."""
        return frozenset((name, h) for (name, b), h in self.homes.items() if b == block)


def _instances(network: Network) -> list[tuple[LinearLayer, int]]:
    blocks = [(L, b) for b in range(network.num_hidden_layers)
              for L in network.block if isinstance(L, LinearLayer)]
    return [(L, -1) for L in network.prologue] + blocks


def mapping(network: Network, hw: HardwareSpec, lora: LoraSpec, chips: int) -> Mapping | None:
    """The digital layers of ``hw.digital`` on ``network`` and their weights' homes, the L2 of
    ``chips`` chips (:func:`hw_models.area.network_chips`) available; None when every layer is
    analog. :func:`hw_models.area.digital_mapping` gives the chips."""
    if not hw.digital.active:
        return None
    sites = resolve(network, hw.digital)
    roles = lora.roles
    budget = hw.digital.l2_share * chips * hw.chip.l2_kib * 1024
    where: dict[Site, str] = {}
    clusters = {}
    for L, b in _instances(network):
        if (L.name, b) not in sites:
            continue
        clusters[(L.name, b)] = math.prod(aimc.tile_grid(L.m, L.n, hw.aimc))
        if fits_tcdm(L, hw, lora.rank if L.role in roles else 0):
            where[(L.name, b)] = "tcdm"
        elif weight_bytes(L.m, L.n, hw) <= budget:
            where[(L.name, b)] = "l2"
            budget -= weight_bytes(L.m, L.n, hw)
        else:
            where[(L.name, b)] = "offchip"
    sharing = sum(clusters[s] for s, w in where.items() if w == "offchip")
    homes = {s: (w, sharing if w == "offchip" else 0) for s, w in where.items()}
    return Mapping(sites, homes, sum(clusters.values()))


def tiles_and_clusters(network: Network, hw: HardwareSpec, sites: frozenset) -> tuple[int, int]:
    """(AIMC tiles of the analog layer instances, PMCA clusters of the digital ones)."""
    tiles = clusters = 0
    for L, b in _instances(network):
        n = math.prod(aimc.tile_grid(L.m, L.n, hw.aimc))
        if (L.name, b) in sites:
            clusters += n
        else:
            tiles += n
    return tiles, clusters


def weight_ns(nbytes: float, home: Home, hw: HardwareSpec) -> float:
    """Time to bring one cluster's weight block into its TCDM for a chunk, ns."""
    where, sharing = home
    if where == "tcdm":
        return 0.0
    if where == "l2":
        return interconnect.l2_ns(nbytes, hw.pmca)
    return offchip.read_ns(nbytes * max(1, sharing), hw.offchip)


def weight_pj(nbytes: float, home: Home, hw: HardwareSpec) -> float:
    """Energy of bringing one cluster's weight block into its TCDM for a chunk, pJ (TCDM-held
    weights: in the GEMM's cluster-level efficiency)."""
    where, _ = home
    if where == "tcdm":
        return 0.0
    if where == "l2":
        return memory.transfer_pj(nbytes, nbytes, hw, l2_over_link=True)
    return memory.transfer_pj(nbytes, 0.0, hw) + nbytes * offchip.pj_per_byte(hw.offchip)


@functools.lru_cache(maxsize=4096)
def digital_stage(m: int, n: int, hw: HardwareSpec, rank: int, t: int, post_flops: float,
                  network: bool, writeback: bool, home: Home) -> LayerStage:
    """A chunk of t tokens through an m x n digital layer (see the module docstring): the
    analog layer's stage without tile time, readout and tile energy, plus the GEMM with its
    weights streamed (``gemm_ns``), their traffic energy and TCDM space."""
    if home[0] not in HOMES:
        raise SpecError(f"digital home: must be one of {', '.join(HOMES)}; got {home[0]!r}")
    base = layer_stage(m, n, hw, rank, t, post_flops, network, writeback)
    pmca, e = hw.pmca, hw.pmca.bytes_per_element
    rt, ct = aimc.tile_grid(m, n, hw.aimc)
    mi, nj = block_share(m, n, hw)
    w = weight_bytes(mi, nj, hw)
    compute = snitch.gemm_cycles(t, mi, nj, pmca) / pmca.clock_ghz
    read_bytes = t * nj * hw.aimc.output_bytes
    lora_ws = snitch.tcdm_bytes(t, snitch.lora_share(m, n, rt, ct), rank, pmca)
    width = pmca.redmule_height * (pmca.redmule_pipe_regs + 1)
    held = w if home[0] == "tcdm" else 2 * mi * min(nj, width) * e   # kept, or 2 stream blocks
    ws = lora_ws + t * mi * e + held
    l2 = base.l2_bytes - interconnect.overflow_bytes(lora_ws, pmca) + \
        interconnect.overflow_bytes(ws, pmca)
    macs = snitch.gemm_padded_macs(t, mi, nj, pmca)
    core = 2 * snitch.gemm_core_macs(t, mi, nj, pmca)
    per_pmca = (snitch.compute_pj(macs, core, pmca) + weight_pj(w, home, hw)
                - memory.transfer_pj(read_bytes, 0.0, hw)
                + memory.transfer_pj(0.0, l2 - base.l2_bytes, hw))
    energy = base.energy_pj - aimc.layer_energy_pj(m, n, t, hw.aimc) + base.pmcas * per_pmca
    return dataclasses.replace(
        base, aimc_ns=0.0, readout_ns=0.0, gemm_ns=max(compute, weight_ns(w, home, hw)),
        l2_ns=interconnect.l2_ns(l2, pmca), tcdm_bytes=int(ws), l2_bytes=l2, energy_pj=energy)


def layer_groups(network: Network, dmap: Mapping | None) -> list[tuple[LinearLayer, object]]:
    """The network's layers as (layer with the count of its instances in this group, Home or
    None for analog): each layer once when every instance is analog, otherwise split by where
    its instances' weights live."""
    if dmap is None:
        return [(L, None) for L in network.layers]
    out = []
    for L in network.layers:
        blocks = [-1] if L in network.prologue else range(network.num_hidden_layers)
        counts: dict = {}
        for b in blocks:
            home = dmap.home(L.name, b)
            counts[home] = counts.get(home, 0) + 1
        for home, c in counts.items():
            out.append((dataclasses.replace(L, count=c), home))
    return out


def report_fields(network: Network, hw: HardwareSpec, dmap: Mapping | None) -> dict:
    """The NetworkReport fields of the digital layers: instances and weight bytes by home."""
    if dmap is None:
        return {}
    where = {h: 0 for h in HOMES}
    for L, b in _instances(network):
        home = dmap.home(L.name, b)
        if home is not None:
            where[home[0]] += weight_bytes(L.m, L.n, hw)
    return {"digital_layers": len(dmap.homes), "digital_weight_bytes": where}
