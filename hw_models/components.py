"""Component figures from the field's component models, read from hw_models/data/components.json.

The file is written by tools/derive_components.py (`make components`, its own Python 3.12 venv)
from hwcomponents 1.0.114 and its plug-ins; every figure carries its provenance (library, version,
technology node, parameters, unit), which :func:`provenance` turns into a help-text line. This
module only reads it (stdlib + numpy, pure functions, the file parsed once). Sources:

* ADC: hwcomponents-adc (Andrulis, Sze, Emer, arXiv:2404.06553, 2024: a fit to Murmann's ADC
  Performance Survey 1997-2023), energy per conversion and area vs bits (4..16) and conversion
  rate (1 conversion per 1 ns .. 2^20 ns), at 14 and 22 nm.
* SRAM: hwcomponents-cacti (CACTI 7), read/write energy per byte, area, leakage, cycle and access
  time for series of (banks, port width) over sizes, at 14 and 22 nm (14 nm: the package's
  scaling of its 22 nm CACTI run).
* Logic: hwcomponents-library's Aladdin 32-bit cells (40 nm, Shao et al. ISCA 2014), scaled:
  energy per op, area, leakage power and leakage density, at 40, 22 and 14 nm.
* Wire: hwcomponents-library's Wire (0.2 fF/um, 0.7 V, full swing every bit), pJ per byte per mm.
* Technology scaling: hwcomponents.scaling (Stillmaker & Baas, Integration 2017), area, energy and
  leakage factors between the nodes 65..7 nm.

Lookups outside the tabulated ranges raise :class:`hw_models.SpecError` naming the argument and
the allowed range. Sizes and rates in between tabulated points are interpolated log-log (ADC bits
log-linear), which is exact where the underlying model is a power law and monotone everywhere.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ._fields import SpecError

DATA_FILE = Path(__file__).resolve().parent / "data" / "components.json"

#: hwcomponents.scaling quantities :func:`scale` knows.
SCALE_QUANTITIES = ("area", "energy", "leakage")


@dataclass(frozen=True)
class SramFigures:
    """One SRAM macro (CACTI via hwcomponents-cacti) at one node: energies per byte moved (pJ/B,
    an access of width_bits / 8 bytes), area (mm^2), leakage power (mW, all banks), random cycle
    and access time (ns); `source` is the provenance line."""

    kib: float
    banks: int
    width_bits: int
    node_nm: float
    read_pj_per_byte: float
    write_pj_per_byte: float
    area_mm2: float
    leakage_mw: float
    cycle_ns: float
    access_ns: float
    source: str


@dataclass(frozen=True)
class _Series:
    """Tabulated points x (ascending) -> named quantities."""

    x: np.ndarray
    values: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class _Tables:
    raw: Mapping[str, Any]
    adc: Mapping[tuple[float, int], _Series]            # (node, bits) -> rate_hz -> energy, area
    sram: Mapping[tuple[float, int, int], _Series]      # (node, banks, width) -> kib -> figures
    logic: Mapping[tuple[float, str], Mapping[str, float]]   # (node, cell) -> quantity -> value
    wire: Mapping[float, float]                          # node -> pJ/(B*mm)
    scaling: Mapping[tuple[str, float, float], float]    # (quantity, from, to) -> factor
    versions: Mapping[str, str]


def _series(points: dict[Any, dict[float, dict[str, float]]]) -> dict[Any, _Series]:
    out = {}
    for key, by_x in points.items():
        xs = sorted(by_x)
        names = by_x[xs[0]].keys()
        out[key] = _Series(np.array(xs, dtype=float),
                           {n: np.array([by_x[x][n] for x in xs], dtype=float) for n in names})
    return out


@functools.lru_cache(maxsize=None)
def _tables(path: str = str(DATA_FILE)) -> _Tables:
    raw = json.loads(Path(path).read_text())
    adc: dict[Any, dict[float, dict[str, float]]] = {}
    sram: dict[Any, dict[float, dict[str, float]]] = {}
    logic: dict[tuple[float, str], dict[str, float]] = {}
    wire: dict[float, float] = {}
    scaling: dict[tuple[str, float, float], float] = {}
    for e in raw["entries"]:
        p, node, q, v = e["parameters"], float(e["node_nm"]), e["quantity"], float(e["value"])
        c = e["component"]
        if c == "adc":
            adc.setdefault((node, int(p["bits"])), {}).setdefault(float(p["rate_hz"]), {})[q] = v
        elif c == "sram":
            key = (node, int(p["banks"]), int(p["width_bits"]))
            sram.setdefault(key, {}).setdefault(float(p["kib"]), {})[q] = v
        elif c == "logic":
            logic.setdefault((node, p["cell"]), {})[q] = v
        elif c == "wire":
            wire[node] = v
        elif c == "scaling":
            scaling[(q, float(p["from_nm"]), float(p["to_nm"]))] = v
    return _Tables(raw, _series(adc), _series(sram), logic, wire, scaling,
                   {k: str(v) for k, v in raw["packages"].items()})


def _fmt(values: Any) -> str:
    return ", ".join(f"{v:g}" for v in sorted(set(values)))


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{what}: must be a number, got {value!r}") from None


def _node(node_nm: float, available: Any, what: str) -> float:
    nodes = set(available)
    try:
        node = float(node_nm)
    except (TypeError, ValueError):
        node = math.nan
    if node not in nodes:
        raise SpecError(f"{what} node_nm: must be one of {_fmt(nodes)} (the nodes "
                        f"{DATA_FILE.name} tabulates; scale() converts between nodes), "
                        f"got {node_nm!r}")
    return node


def _interp_loglog(s: _Series, x: float, name: str, what: str, unit: str) -> float:
    """Value of `name` at x, log-log linear between the tabulated points of s."""
    if not (math.isfinite(x) and s.x[0] <= x <= s.x[-1]):
        raise SpecError(f"{what}: must be between {s.x[0]:g} and {s.x[-1]:g} {unit} "
                        f"(the tabulated range), got {x!r}")
    exact = np.flatnonzero(s.x == x)
    if exact.size:  # a tabulated point: the file's figure itself
        return float(s.values[name][exact[0]])
    return float(np.exp(np.interp(math.log(x), np.log(s.x), np.log(s.values[name]))))


def provenance(component: str) -> str:
    """One line naming where a component's figures come from, for help texts and reports:
    component in adc, sram, logic, wire, scaling."""
    libs = {"adc": "hwcomponents-adc", "sram": "hwcomponents-cacti",
            "logic": "hwcomponents-library", "wire": "hwcomponents-library",
            "scaling": "hwcomponents"}
    if component not in libs:
        raise SpecError(f"component: must be one of {', '.join(libs)}, got {component!r}")
    t = _tables()
    lib = libs[component]
    src = t.raw["sources"][lib]
    return f"{lib} {t.versions[lib]} ({src['reference']}), via {DATA_FILE.name}"


# -- ADC -------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _adc_value(bits: float, node_nm: float, rate_hz: float, name: str) -> float:
    t = _tables()
    node = _node(node_nm, (k[0] for k in t.adc), "adc")
    all_bits = sorted(b for n, b in t.adc if n == node)
    b = _number(bits, "adc bits")
    if not (math.isfinite(b) and all_bits[0] <= b <= all_bits[-1]):
        raise SpecError(f"adc bits: must be between {all_bits[0]} and {all_bits[-1]} "
                        f"(hwcomponents-adc's range), got {bits!r}")
    lo = int(math.floor(b))
    hi = min(lo + 1, all_bits[-1])
    rate = _number(rate_hz, "adc rate_hz")
    v_lo = _interp_loglog(t.adc[(node, lo)], rate, name, "adc rate_hz", "Hz")
    if hi == lo or b == lo:
        return v_lo
    v_hi = _interp_loglog(t.adc[(node, hi)], rate, name, "adc rate_hz", "Hz")
    w = b - lo
    return math.exp((1 - w) * math.log(v_lo) + w * math.log(v_hi))


def adc_energy_pj(bits: float, node_nm: float, rate_hz: float) -> float:
    """Energy of one conversion of one ADC, pJ, at `bits` resolution (ENOB, 4..16; the fit has
    no figures below 4 bit), node_nm (14 or 22) and `rate_hz` conversions per second of that ADC
    (1e9 / 2^20 .. 1e9: one conversion per column per MVM of a t ns window is 1e9 / t).
    Source: hwcomponents-adc (Andrulis et al. 2024, fitted to Murmann's ADC survey): e.g. 0.36 pJ
    at 8 bit, 14 nm, 1 / 256 ns and 0.85 pJ at 22 nm. The total per conversion: the library
    itself charges 80 % of it per conversion and 20 % as leakage at that rate. Flat in rate
    below ~100 MHz at <= 10 bit."""
    return _adc_value(bits, node_nm, rate_hz, "energy_per_conversion")


def adc_area_um2(bits: float, node_nm: float, rate_hz: float) -> float:
    """Area of one ADC, um^2, at `bits` (4..16), node_nm (14, 22) and `rate_hz` (1e9 / 2^20 ..
    1e9; the fit's area grows with the rate). Source: hwcomponents-adc (Andrulis et al. 2024,
    fitted to Murmann's ADC survey): e.g. 606 um^2 at 8 bit, 14 nm, 1 / 256 ns."""
    return _adc_value(bits, node_nm, rate_hz, "area")


# -- SRAM ------------------------------------------------------------------------------------------

def sram_configs() -> list[tuple[float, int, int]]:
    """The tabulated (node_nm, banks, width_bits) series, each over a range of sizes."""
    return sorted(_tables().sram)


@functools.lru_cache(maxsize=1024)
def sram(kib: float, node_nm: float, banks: int = 32, width_bits: int = 64) -> SramFigures:
    """CACTI figures of an SRAM of `kib` KiB in `banks` banks with `width_bits`-wide ports at
    node_nm, interpolated log-log between tabulated sizes. Tabulated (sram_configs()): 32 x 64-bit
    banks (a Snitch TCDM) and 16 x 32-bit (a PULP TCDM) over 16..4096 KiB; 1, 4 and 16 x 64-bit
    over 128..16384 KiB (an L2); at 14 and 22 nm. Source: hwcomponents-cacti (CACTI 7): e.g. a
    128 KiB 32-bank TCDM at 22 nm reads 0.84 pJ/B on 0.127 mm^2; a 1 MiB single-bank L2 2.9 pJ/B
    on 0.78 mm^2."""
    t = _tables()
    node = _node(node_nm, (k[0] for k in t.sram), "sram")
    key = (node, banks, width_bits)
    if key not in t.sram:
        have = sorted({(b, w) for n, b, w in t.sram if n == node})
        raise SpecError(f"sram banks/width_bits: must be one of "
                        f"{', '.join(f'{b} x {w}-bit' for b, w in have)}, "
                        f"got {banks} x {width_bits}-bit")
    s = t.sram[key]
    x = _number(kib, "sram kib")

    def get(name: str) -> float:
        return _interp_loglog(s, x, name, "sram kib", "KiB")

    return SramFigures(kib=x, banks=int(banks), width_bits=int(width_bits), node_nm=node,
                       read_pj_per_byte=get("read_energy_per_byte"),
                       write_pj_per_byte=get("write_energy_per_byte"),
                       area_mm2=get("area"), leakage_mw=get("leakage_power"),
                       cycle_ns=get("cycle_time"), access_ns=get("access_time"),
                       source=provenance("sram"))


# -- logic, wires, scaling -------------------------------------------------------------------------

def logic_cell(cell: str, node_nm: float) -> dict[str, float]:
    """hwcomponents-library's Aladdin 32-bit `cell` (adder, multiplier, counter, comparator;
    40 nm, Shao et al. ISCA 2014) scaled to node_nm (40, 22, 14) with Stillmaker & Baas:
    energy_per_op (pJ), area (um^2), leakage_power (uW), leakage_density (mW/mm^2)."""
    t = _tables()
    node = _node(node_nm, (k[0] for k in t.logic), "logic")
    cells = sorted({c for n, c in t.logic if n == node})
    if cell not in cells:
        raise SpecError(f"logic cell: must be one of {', '.join(cells)}, got {cell!r}")
    return dict(t.logic[(node, cell)])


def logic_leakage_mw_per_mm2(node_nm: float, cell: str = "adder") -> float:
    """Leakage power density of a logic cell, mW/mm^2, at node_nm: at 22 nm the 32-bit adder gives
    8.0 and the multiplier 11.6 (hwcomponents-library, Aladdin's cells scaled)."""
    return logic_cell(cell, node_nm)["leakage_density"]


def wire_pj_per_byte_mm(node_nm: float) -> float:
    """Energy to move one byte over 1 mm of on-chip wire, pJ/(B mm), every bit a full swing
    (activity 1): hwcomponents-library's Wire, 0.2 fF/um at 0.7 V -> 0.098 pJ/bit/mm (node
    independent in that model; tabulated at 14 and 22 nm). Scale by the switching activity."""
    t = _tables()
    return t.wire[_node(node_nm, t.wire, "wire")]


def scaling_nodes() -> list[float]:
    """Nodes (nm) between which :func:`scale` has factors."""
    return sorted({k[1] for k in _tables().scaling}, reverse=True)


def scale(quantity: str, from_nm: float, to_nm: float) -> float:
    """Factor that takes an `quantity` (area, energy or leakage) figure at from_nm to to_nm:
    Stillmaker & Baas (Integration 2017) as hwcomponents.scaling gives it (energy and leakage at
    0.8 V). E.g. area 22 -> 14 nm: 0.747 (ideal (14/22)^2 would be 0.405); energy 22 -> 14 nm:
    0.47. Nodes: scaling_nodes() (65, 45, 40, 32, 28, 22, 20, 16, 14, 10, 7). Stillmaker & Baas
    publish 65, 45, 32, 20, 16, 14, 10 and 7 nm; the package interpolates 40, 28 and 22 nm
    bilinearly in its ratio table, so area factors through those nodes do not invert (22 -> 14
    -> 22 nm: 0.747 x 1.45 = 1.08; 40 <-> 28 nm: 1.32): scale from one reference node (the node
    a figure is quoted at) and never chain factors. Energy and leakage factors are consistent."""
    if quantity not in SCALE_QUANTITIES:
        raise SpecError(f"scale quantity: must be one of {', '.join(SCALE_QUANTITIES)}, "
                        f"got {quantity!r}")
    nodes = scaling_nodes()
    frm = _node(from_nm, nodes, "scale from")
    to = _node(to_nm, nodes, "scale to")
    if frm == to:
        return 1.0
    return _tables().scaling[(quantity, frm, to)]
