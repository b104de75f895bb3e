"""Derive the component figures of the hardware model from the field's component models.

Writes hw_models/data/components.json: ADC energy and area (hwcomponents-adc, fitted to Murmann's
ADC survey), SRAM energy, area and leakage (hwcomponents-cacti, CACTI), logic-cell leakage and
energy (hwcomponents-library, Aladdin's 40 nm cells), wire energy (hwcomponents-library's Wire)
and technology scaling factors (hwcomponents.scaling, Stillmaker & Baas 2017). Every figure is one
entry with its provenance: library and version, technology node, parameters and unit.

Runs in its own Python 3.12 environment (`make components` builds .venv-hwc/ from
tools/components-requirements.txt); hw_models never imports this script, it reads the data file
through hw_models/components.py. The CACTI binary in hwcomponents-cacti's wheel may need a newer
glibc than the machine's: `ensure_cacti` rebuilds it from the sources the wheel ships.

    .venv-hwc/bin/python tools/derive_components.py            # (re)write the data file
    .venv-hwc/bin/python tools/derive_components.py --check    # compare with the committed file
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "hw_models" / "data" / "components.json"
FORMAT = 1

#: Packages whose versions the file records (the pinned set of tools/components-requirements.txt).
PACKAGES = ("hwcomponents", "hwcomponents-adc", "hwcomponents-cacti", "hwcomponents-library",
            "numpy", "pandas", "PyYAML")

#: Nodes the converter and memory figures are derived at: 22 nm (the PMCA's, GF 22FDX-class) and
#: 14 nm (HERMES's, Le Gallo et al. 2023).
NODES_NM = (14, 22)
#: ADC resolutions (hwcomponents-adc requires >= 4 bits) and conversion periods: one conversion
#: per column per MVM at integration windows of 1 .. 1024 ns in powers of 2 (128/256/512 ns among
#: them), then in powers of 4 up to 2^20 ns, past the 1e6 ns the tile spec allows.
ADC_BITS = tuple(range(4, 17))
ADC_PERIODS_NS = tuple(2 ** k for k in range(11)) + tuple(2 ** k for k in range(12, 21, 2))
#: SRAM series (banks, port width in bits) -> sizes in KiB. 32 x 64-bit banks: a Snitch cluster's
#: TCDM (Zaruba et al. 2021); 16 x 32-bit: a PULP cluster's; 1/4/16 x 64-bit: an L2.
_TCDM_KIB = tuple(2 ** k for k in range(4, 13))     # 16 .. 4096 KiB
_L2_KIB = tuple(2 ** k for k in range(7, 15))       # 128 KiB .. 16 MiB
SRAM_SERIES: dict[tuple[int, int], tuple[int, ...]] = {
    (32, 64): _TCDM_KIB, (16, 32): _TCDM_KIB, (1, 64): _L2_KIB, (4, 64): _L2_KIB,
    (16, 64): _L2_KIB,
}
#: Aladdin's 32-bit logic cells (40 nm, Shao et al. ISCA 2014) as scaled by hwcomponents-library.
LOGIC_CELLS = {"adder": ("AladdinAdder", "add"), "multiplier": ("AladdinMultiplier", "multiply"),
               "counter": ("AladdinCounter", "count"), "comparator": ("AladdinComparator", "compare")}
LOGIC_WIDTH_BITS = 32
LOGIC_NODES_NM = (40, 22, 14)
#: Technology scaling: a factor for every ordered pair of these nodes (hwcomponents.scaling
#: interpolates between the published nodes 130, 90, 65, 45, 32, 20, 16, 14, 10, 7 nm).
SCALING_NODES_NM = (65, 45, 40, 32, 28, 22, 20, 16, 14, 10, 7)
SCALING_VDD_V = 0.8  # hwcomponents.scaling's default supply for the energy fit
#: Wire: hwcomponents-library's Wire defaults (0.2 fF/um, 0.7 V swing), charged once per bit.
WIRE_CAP_F_PER_M = 2e-10
WIRE_VOLTAGE_V = 0.7

SOURCES = {
    "hwcomponents-adc": {
        "model": "hwcomponents_adc.main.ADC",
        "reference": "T. Andrulis, V. Sze, J. Emer, 'Modeling Analog-Digital-Converter Energy and "
                     "Area for Compute-In-Memory Accelerator Design', arXiv:2404.06553 (2024); "
                     "fitted to B. Murmann, 'ADC Performance Survey 1997-2023'",
        "license": "MIT",
        "notes": "energy: the model's total per conversion (get_energy); it charges 80 % per "
                 "convert action and 20 % as leakage at the given rate. Area depends on the rate.",
    },
    "hwcomponents-cacti": {
        "model": "hwcomponents_cacti.SRAM (CACTI 7, itrs-lstp cells and periphery, "
                 "leakage-weighted design objective, the package's default_cfg.cfg)",
        "reference": "R. Balasubramonian et al., 'CACTI 7', ACM TACO 14(2), 2017",
        "license": "MIT (CACTI: HP/Univ. of Utah licence, shipped in the wheel)",
        "notes": "CACTI covers 22..90 nm; below 22 nm the package scales the 22 nm result: energy "
                 "x sqrt(node/22), area x node/22, leakage x sqrt(node/22) x 0.79 (FinFET, "
                 "Parvais et al. VLSI-TSA 2009). Energy per byte = energy per access / (width/8).",
    },
    "hwcomponents-library": {
        "model": "hwcomponents_library.library.aladdin (Aladdin cells), .misc.Wire",
        "reference": "Y. S. Shao et al., 'Aladdin', ISCA 2014 (40 nm cells), scaled by "
                     "hwcomponents.scaling",
        "license": "MIT",
        "notes": "imported module by module: the package's __init__ imports hwcomponents-neurosim "
                 "(CC BY-NC), which is not installed",
    },
    "hwcomponents": {
        "model": "hwcomponents.scaling.tech_node_area / tech_node_energy / tech_node_leak",
        "reference": "A. Stillmaker, B. Baas, 'Scaling equations for the accurate prediction of "
                     "CMOS device performance from 180nm to 7nm', Integration 58 (2017) 74-81",
        "license": "MIT",
        "notes": f"energy and leakage factors at Vdd = {SCALING_VDD_V} V (the package's default; "
                 "its leakage factor is its energy factor); nodes between the published ones "
                 "(22, 28, 40 nm) interpolated by the package, bilinearly in its ratio table for "
                 "area: there and back through such a node multiplies by up to 1.32, so scale "
                 "from one reference node, do not chain factors",
    },
}


def _sig(x: float, digits: int = 6) -> float:
    """x rounded to `digits` significant digits (the file's precision; absorbs float noise)."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits - 1}e}")


def versions() -> dict[str, str]:
    return {p: importlib.metadata.version(p) for p in PACKAGES}


def _entry(component: str, quantity: str, value: float, unit: str, library: str, node_nm: float,
           vers: dict[str, str], **parameters: Any) -> dict[str, Any]:
    return {"component": component, "quantity": quantity, "value": _sig(value), "unit": unit,
            "node_nm": node_nm, "library": library, "version": vers[library],
            "parameters": parameters}


# -- CACTI binary ----------------------------------------------------------------------------------

def _cacti_dir() -> Path:
    spec = importlib.util.find_spec("hwcomponents_cacti")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("hwcomponents-cacti is not installed (run `make components`)")
    return Path(list(spec.submodule_search_locations)[0]) / "cacti"


def _cacti_runs(cacti: Path) -> bool:
    """The binary starts (with no arguments CACTI prints its usage and exits 1)."""
    if not (cacti / "cacti").is_file():
        return False
    try:
        res = subprocess.run(["./cacti"], cwd=cacti, capture_output=True, text=True, timeout=60)
    except OSError:
        return False
    return "how to use CACTI" in res.stdout + res.stderr


def ensure_cacti(jobs: int = 2) -> Path:
    """Make the wheel's CACTI binary runnable: rebuild it from the shipped sources (CACTI's own
    makefile, optimised build, then the debug build) when the shipped one does not start (e.g.
    it was linked against a newer glibc). Returns the CACTI directory."""
    cacti = _cacti_dir()
    if _cacti_runs(cacti):
        return cacti
    if shutil.which("make") is None or shutil.which("g++") is None:
        raise SystemExit("CACTI: the shipped binary does not run here and make/g++ are missing "
                         "to rebuild it (install build-essential)")
    log = cacti / "rebuild.log"
    for target in ("opt", "dbg"):
        for stale in ("obj_opt", "obj_dbg", "cacti"):  # prebuilt objects may need the newer libc
            p = cacti / stale
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        print(f"CACTI: rebuilding from source ({target}, log in {log}) ...", file=sys.stderr)
        with open(log, "a") as out:
            subprocess.run(["make", f"-j{jobs}", target], cwd=cacti, stdout=out,
                           stderr=subprocess.STDOUT, check=False)
        if _cacti_runs(cacti):
            return cacti
    raise SystemExit(f"CACTI: rebuilding failed, see {log}")


# -- derivations -----------------------------------------------------------------------------------

def adc_entries(vers: dict[str, str]) -> list[dict[str, Any]]:
    from hwcomponents_adc.main import ADC

    out = []
    for node in NODES_NM:
        for bits in ADC_BITS:
            for period in ADC_PERIODS_NS:
                rate = 1e9 / period
                adc = ADC(n_bits=bits, tech_node=node / 1e9, throughput=rate)
                par = {"bits": bits, "rate_hz": rate, "period_ns": period, "n_adcs": 1}
                out.append(_entry("adc", "energy_per_conversion", adc.get_energy() * 1e12, "pJ",
                                  "hwcomponents-adc", node, vers, **par))
                out.append(_entry("adc", "area", adc.area * 1e12, "um^2", "hwcomponents-adc",
                                  node, vers, **par))
    return out


def sram_entries(vers: dict[str, str]) -> list[dict[str, Any]]:
    from hwcomponents_cacti import SRAM

    out = []
    for node in NODES_NM:
        for (banks, width), sizes in SRAM_SERIES.items():
            for kib in sizes:
                s = SRAM(tech_node=node / 1e9, width=width, size=kib * 1024 * 8, n_banks=banks)
                par = {"kib": kib, "banks": banks, "width_bits": width, "rw_ports": 1}
                bytes_per_access = width / 8
                figs = (("read_energy_per_byte", s.read_energy * 1e12 / bytes_per_access, "pJ/B"),
                        ("write_energy_per_byte", s.write_energy * 1e12 / bytes_per_access, "pJ/B"),
                        ("area", s.area * 1e6, "mm^2"),
                        ("leakage_power", s.leak_power * 1e3, "mW"),
                        ("cycle_time", s.cycle_period * 1e9, "ns"),
                        ("access_time", s.access_time * 1e9, "ns"))
                for quantity, value, unit in figs:
                    out.append(_entry("sram", quantity, value, unit, "hwcomponents-cacti", node,
                                      vers, **par))
    return out


def _library_module(name: str) -> types.ModuleType:
    """A module of hwcomponents-library without running the package's __init__ (which imports
    hwcomponents-neurosim, CC BY-NC, deliberately not installed)."""
    if "hwcomponents_library" not in sys.modules:
        spec = importlib.util.find_spec("hwcomponents_library")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("hwcomponents-library is not installed (run `make components`)")
        pkg = types.ModuleType("hwcomponents_library")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["hwcomponents_library"] = pkg
    return importlib.import_module(f"hwcomponents_library.library.{name}")


def logic_entries(vers: dict[str, str]) -> list[dict[str, Any]]:
    aladdin = _library_module("aladdin")
    out = []
    for node in LOGIC_NODES_NM:
        for cell, (cls_name, action) in LOGIC_CELLS.items():
            m = getattr(aladdin, cls_name)(tech_node=node / 1e9, width=LOGIC_WIDTH_BITS)
            energy = getattr(m, action)().energy
            area_um2 = m.area * 1e12
            par = {"cell": cell, "model": cls_name, "width_bits": LOGIC_WIDTH_BITS,
                   "native_node_nm": 40}
            for quantity, value, unit in (
                    ("energy_per_op", energy * 1e12, "pJ"),
                    ("area", area_um2, "um^2"),
                    ("leakage_power", m.leak_power * 1e6, "uW"),
                    ("leakage_density", m.leak_power * 1e3 / (area_um2 * 1e-6), "mW/mm^2")):
                out.append(_entry("logic", quantity, value, unit, "hwcomponents-library", node,
                                  vers, **par))
    return out


def wire_entries(vers: dict[str, str]) -> list[dict[str, Any]]:
    misc = _library_module("misc")
    out = []
    for node in NODES_NM:
        w = misc.Wire(length=1e-3, tech_node=node / 1e9, capacitance_per_m=WIRE_CAP_F_PER_M,
                      voltage=WIRE_VOLTAGE_V)
        per_bit = w.read().energy  # one full charge of 1 mm of wire, J
        out.append(_entry("wire", "energy_per_byte_mm", per_bit * 8 * 1e12, "pJ/(B*mm)",
                          "hwcomponents-library", node, vers, length_mm=1.0,
                          capacitance_ff_per_um=WIRE_CAP_F_PER_M * 1e9, voltage_v=WIRE_VOLTAGE_V,
                          activity=1.0))
    return out


def scaling_entries(vers: dict[str, str]) -> list[dict[str, Any]]:
    from hwcomponents.scaling import tech_node_area, tech_node_energy, tech_node_leak

    funcs = (("area", lambda t, f: tech_node_area(t, f)),
             ("energy", lambda t, f: tech_node_energy(t, f, SCALING_VDD_V)),
             ("leakage", lambda t, f: tech_node_leak(t, f, SCALING_VDD_V)))
    out = []
    for quantity, fn in funcs:
        for frm in SCALING_NODES_NM:
            for to in SCALING_NODES_NM:
                if to == frm:  # identity (the package's bilinear interpolation of its ratio
                    continue   # table gives e.g. area 22 -> 22 nm = 1.09; the loader returns 1)
                out.append(_entry("scaling", quantity, fn(to / 1e9, frm / 1e9), "x",
                                  "hwcomponents", to, vers, from_nm=frm, to_nm=to,
                                  vdd_v=SCALING_VDD_V))
    return out


def derive() -> dict[str, Any]:
    logging.disable(logging.WARNING)  # the packages log every CACTI call and design alternative
    ensure_cacti()
    vers = versions()
    entries = (adc_entries(vers) + sram_entries(vers) + logic_entries(vers) + wire_entries(vers)
               + scaling_entries(vers))
    return {
        "format": FORMAT,
        "generator": "tools/derive_components.py (make components)",
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "packages": vers,
        "sources": SOURCES,
        "entries": entries,
    }


def dumps(data: dict[str, Any]) -> str:
    """The file's text: the header indented, one entry per line (readable diffs)."""
    head = {k: v for k, v in data.items() if k != "entries"}
    text = json.dumps(head, indent=1, sort_keys=True)[:-2]
    lines = ",\n".join(" " + json.dumps(e, sort_keys=True) for e in data["entries"])
    return f'{text},\n "entries": [\n{lines}\n ]\n}}\n'


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="data file to write")
    ap.add_argument("--check", action="store_true",
                    help="derive and compare with --out instead of writing it (exit 1 on a difference)")
    args = ap.parse_args(argv)
    if sys.version_info[:2] < (3, 12):
        print("derive_components: needs Python >= 3.12 (hwcomponents); run `make components`",
              file=sys.stderr)
        return 2
    text = dumps(derive())
    if args.check:
        old = args.out.read_text() if args.out.exists() else ""
        if old != text:
            print(f"{args.out}: differs from what the component models give now; "
                  "run `make components`", file=sys.stderr)
            return 1
        print(f"{args.out}: up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(text)
    os.replace(tmp, args.out)
    n = text.count('"component"')
    print(f"wrote {args.out} ({n} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
