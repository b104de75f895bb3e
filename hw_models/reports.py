"""Result records of the hardware model: per layer and per network, with exact JSON-able dicts."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

#: keys of ``codesign latency --json`` (contract: docs/reference/contract.md)
CONTRACT_KEYS = ("aimc_ns", "pmca_ns", "ratio", "total_ns", "aimc_only_ns", "overhead",
                 "tcdm_bytes", "tcdm_fits", "energy_pj")


def _plain(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) or hasattr(value, "item"):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value):
        return value.to_dict()
    return value


@dataclass(frozen=True)
class LayerReport:
    """One linear layer: a chunk's stage times and the whole sequence through it (alone).

    Times in ns, memory in bytes, energy in pJ. ``aimc_ns``/``pmca_ns`` are for one full chunk of
    ``tokens`` tokens; ``total_ns`` is ``seq_len`` tokens through the pipelined layer (readout
    included); ``aimc_only_ns`` is the same layer and tokens without LoRA (its pipeline at rank 0,
    readout included), so ``overhead`` is what the adapter adds and exactly 1.0 at rank 0;
    ``tile_only_ns`` is the bare tiles, seq_len x MVM time (the AHWA-LoRA paper's "AIMC alone"
    baseline, without the transfer into the PMCA: its overheads are ``total_ns / tile_only_ns``);
    ``energy_pj`` is seq_len tokens through one instance (x ``count`` in the network).
    """

    name: str
    role: str
    m: int
    n: int
    rank: int
    tokens: int
    seq_len: int
    aimc_ns: float
    pmca_ns: float
    ratio: float
    readout_ns: float
    total_ns: float
    aimc_only_ns: float
    overhead: float
    tcdm_bytes: int
    tcdm_fits: bool
    l2_bytes: float
    energy_pj: float
    tiles: int
    count: int = 1
    digital_ns: float = 0.0          #: fused post-ops per chunk (network only)
    aimc_utilisation: float = 0.0    #: tile busy / network latency (network only)
    pmca_utilisation: float = 0.0    #: PMCA busy / network latency (network only)
    tile_only_ns: float = 0.0        #: seq_len x MVM time: the paper's baseline (no readout)
    clusters: int = 0                #: PMCA clusters of a digital layer (no tiles; 0: analog,
    #: one cluster per tile, see hw_models.digital)

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def contract(self) -> dict:
        """Exactly the contract keys of ``codesign latency --json``."""
        return {k: _plain(getattr(self, k)) for k in CONTRACT_KEYS}


@dataclass(frozen=True)
class NetworkReport:
    """A whole network for one hardware point and adapter.

    ``total_ns``: seq_len tokens through every layer (pipelined chunks, attention barriers);
    ``aimc_only_ns``: the same network without adapters (digital ops and readout still there), so
    ``overhead`` is what LoRA adds; ``aimc_ns``/``pmca_ns``: one chunk's AIMC / PMCA LoRA time
    summed over all layer instances; ``ratio`` = pmca_ns / aimc_ns (the time-weighted mean of the
    layers' ratios, as the contract defines it); ``max_ratio``: the largest layer ratio (the
    bottleneck layer; 0 without adapters); ``tcdm_bytes``: the peak working set of any
    cluster (LoRA of a layer, or a head of attention); ``energy_pj``: all layers and attention
    (dynamic) plus the static (leakage) energy ``static_energy_pj`` over ``total_ns``;
    ``adapter_params``: sum r (m + n). Size fields: see :data:`SIZE_KEYS` and
    :mod:`hw_models.area`.
    """

    network: str
    engine: str
    rank: int
    placement: object
    tokens: int
    seq_len: int
    aimc_ns: float
    pmca_ns: float
    ratio: float
    max_ratio: float
    total_ns: float
    aimc_only_ns: float
    overhead: float
    tcdm_bytes: int
    tcdm_fits: bool
    energy_pj: float
    adapter_params: int
    attention_ns: float
    aimc_utilisation: float
    pmca_utilisation: float
    layers: list = field(default_factory=list)
    attention_tcdm_bytes: int = 0    #: peak TCDM working set of a cluster running attention
    #: (K and V streamed: what it needs; kept K and V use spare TCDM, see attention_kv_resident)
    attention_kv_resident: bool = False  #: K and V kept in the TCDM across query chunks
    tiles: int = 0                   #: AIMC tiles of the whole network (weights stationary)
    pmca_clusters: int = 0           #: PMCA clusters (one beside each tile)
    tcdm_total_bytes: int = 0        #: TCDM of all clusters, bytes
    area_mm2: float = 0.0            #: silicon of the tiles, their clusters and the chips' L2
    area_by_component_mm2: dict = field(default_factory=dict)  #: area_mm2 per area.COMPONENTS
    chips: int = 0                   #: chips of chip.tiles_per_chip tiles the network needs
    chip_area_mm2: float = 0.0       #: one full chip (tiles_per_chip pairs + L2)
    static_power_mw: float = 0.0     #: leakage of the silicon in area_mm2
    static_energy_pj: float = 0.0    #: static_power_mw x total_ns; included in energy_pj
    dynamic_energy_pj: float = 0.0   #: energy_pj without the static energy
    digital_layers: int = 0          #: linear layer instances without a tile (hw_models.digital)
    digital_weight_bytes: dict = field(default_factory=dict)  #: their weights by where they
    #: live (tcdm, l2, offchip), bytes

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def contract(self) -> dict:
        """The contract keys plus ``layers`` (per-layer dicts)."""
        out = {k: _plain(getattr(self, k)) for k in CONTRACT_KEYS}
        out["layers"] = [layer.to_dict() for layer in self.layers]
        return out

    def size(self) -> dict:
        """The size, area, chip and static-energy figures (:data:`SIZE_KEYS`)."""
        return {k: _plain(getattr(self, k)) for k in SIZE_KEYS}


#: keys ``codesign latency --model ... --json`` adds to the contract keys
SIZE_KEYS = ("tiles", "pmca_clusters", "tcdm_total_bytes", "area_mm2", "area_by_component_mm2",
             "chips", "chip_area_mm2", "static_power_mw", "static_energy_pj", "dynamic_energy_pj")
