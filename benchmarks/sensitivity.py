"""Which conclusions of the quickstart rest on a guess: every hardware constant that is a stated
assumption moved to each end of its bounds, one at a time, and what that does to the quickstart's
Pareto front and to the point ``codesign pick`` chooses.

    .venv/bin/python benchmarks/sensitivity.py                       # JSON, then a Markdown table
    .venv/bin/python benchmarks/sensitivity.py --trials results/quickstart/trials.csv

The quickstart (studies/quickstart.yaml) is a 32-point grid on MiniLM-L6 (rank 1/8, ADC 6/8 bit,
integration 128/512 ns, t = 8..64; seq_len 128): its front is the non-dominated points over
accuracy@1d (max), latency (min) and energy (min) among those whose working set fits the TCDM,
and its pick is the quickstart's: ``--require 'accuracy@1d>=0.88' --prefer latency_us``. Latency and
energy come from hw_models for every variant; accuracy does not depend on these constants, so it
is read once from a finished quickstart's trials.csv (``--trials``; default
results/quickstart/trials.csv). Without one the front is over latency and energy only and the pick
is the fastest point (said in the JSON: ``accuracy_from``).

``ASSUMPTIONS`` lists every constant whose help in hw_models/specs.py calls it an assumption (or
that is derived from one, such as the HERMES energy split), its bounds and why. Each row says
whether the front's membership and the pick changed, and how much the pick's energy and latency
moved.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hw_models as H  # noqa: E402
from hw_models.calibration import HERMES_SPLIT, hermes_split  # noqa: E402

NETWORK, SEQ = "minilm-l6", 128
GRID = {"rank": (1, 8), "adc_bits": (6, 8), "integration_ns": (128, 512),
        "tokens": (8, 16, 32, 64)}
REQUIRE = 0.88          # the quickstart's pick: accuracy@1d >= 0.88, then the lowest latency

#: (name, field path or "split.<share>", low, high, why these bounds)
ASSUMPTIONS = [
    ("split: integration-window share", "split.window", HERMES_SPLIT["window"][1],
     HERMES_SPLIT["window"][2], "HERMES publishes no split (calibration.HERMES_SPLIT)"),
    ("split: conversion share", "split.conversion", HERMES_SPLIT["conversion"][1],
     HERMES_SPLIT["conversion"][2], "output encoding 'the majority' (Singh et al. 2025)"),
    ("split: per-column digital share", "split.digital", HERMES_SPLIT["digital"][1],
     HERMES_SPLIT["digital"][2], "no published split"),
    ("DAC energy per row", "aimc.dac_pj", 0.05, 0.5, "comparator + row line, no figure"),
    ("mean input activity", "aimc.input_activity", 0.1, 0.5, "activations after LayerNorm"),
    ("read voltage", "aimc.read_voltage_v", 0.1, 0.3, "IBM's 0.2 V +- 0.1 V"),
    ("SAR energy: survey fit or FoM", "aimc.adc_model", "survey_fit", "fom",
     "hwcomponents-adc fit vs Walden 20 fJ/step"),
    ("SAR bit cycle", "aimc.adc_cycle_ns", 0.1, 1.25, "Murmann survey: 0.1-1 GS/s 8-bit SAR"),
    ("crossbar share of core area", "chip.array_area_share", 0.3, 0.7, "HERMES: no split"),
    ("ADC share of periphery area", "chip.adc_area_share", 0.3, 0.7, "HERMES: no split"),
    ("DAC share of periphery area", "chip.dac_area_share", 0.05, 0.2, "no published split"),
    ("logic leakage cell", "chip.logic_leakage_cell", "adder", "multiplier",
     "hwcomponents-library: 8.0 / 11.6 mW/mm^2 at 22 nm"),
    ("leakage x0.5 .. x1.5", "chip.leakage_scale", 0.5, 1.5,
     "library cells and CACTI vs real macros (assumption)"),
    ("area per PMCA core", "chip.core_mm2", round(0.5 * H.ChipSpec().core_mm2, 5),
     round(2.0 * H.ChipSpec().core_mm2, 5), "Snitch as large as the PULP cluster per core"),
    ("L2 per chip", "chip.l2_kib", 512, 4096, "1 MiB assumed"),
    ("gating on, wake-up break-even", "gated.wakeup_break_even_ns", 10.0, 1000.0,
     "tens of cycles for gated units (Hu et al. 2004); larger domains longer"),
    ("RedMulE energy at 1 GHz", "pmca.redmule_energy_scale", 1.0, 2.0,
     "V^2 from the 473 MHz point, voltage at 1 GHz unpublished"),
    ("link wire length", "pmca.link_mm", 0.5, 3.0, "~ the side of a tile + cluster pair"),
    ("wire toggle activity", "pmca.wire_activity", 0.25, 1.0, "uncorrelated data: 0.5"),
    ("L2 port bandwidth", "pmca.l2_bytes_per_cycle", 8.0, 64.0, "one 128-bit port assumed"),
    ("K/V block", "attention.kv_block_keys", 16, 256, "a block that fits any TCDM"),
    ("attention clusters (base: upstream)", "attention.mapping", "qkv", "block",
     "the paper does not say which PMCAs run attention"),
]


def _set(hw: H.HardwareSpec, path: str, value) -> H.HardwareSpec:
    """``hw`` with one assumption moved: a spec field ``part.field``, a HERMES split share
    ``split.<share>`` (the other shares kept, the readout taking the rest; when the rest would be
    negative the other two shrink in proportion), or ``gated.<chip field>`` (with idle tiles and
    clusters power-gated, where a wake-up cost matters)."""
    part, name = path.split(".")
    if part == "split":
        shares = {k: v[0] for k, v in HERMES_SPLIT.items()}
        shares[name] = value
        others = [k for k in shares if k != name]
        room = 1.0 - value
        if sum(shares[k] for k in others) > room:
            scale = room / sum(shares[k] for k in others)
            shares.update({k: shares[k] * scale for k in others})
        return dataclasses.replace(hw, aimc=dataclasses.replace(hw.aimc, **hermes_split(**shares)))
    if part == "gated":
        chip = dataclasses.replace(hw.chip, aimc_idle_leakage_share=0.0,
                                   cluster_idle_leakage_share=0.0, **{name: value})
        return dataclasses.replace(hw, chip=chip)
    sub = getattr(hw, part)
    return dataclasses.replace(hw, **{part: dataclasses.replace(sub, **{name: value})})


def points() -> list[tuple[tuple, H.HardwareSpec, H.LoraSpec]]:
    """The quickstart grid: (key, hardware, adapter), key = (rank, adc_bits, integration_ns, t)."""
    out = []
    for rank, adc, tint, t in itertools.product(*GRID.values()):
        hw = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=tint, adc_bits=adc, dac_bits=8),
                            pmca=H.PmcaSpec(tcdm_kib=128), tokens=t)
        out.append(((rank, adc, tint, t), hw, H.LoraSpec(rank=rank, placement="all")))
    return out


def read_accuracy(path: Path) -> dict[tuple, float]:
    """accuracy@1d per (rank, adc_bits, integration_ns) from a quickstart trials.csv."""
    acc: dict[tuple, float] = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            col = {k.split("params_")[-1]: v for k, v in row.items()}
            value = col.get("accuracy@1d") or col.get("values_accuracy@1d")
            if value in (None, ""):
                continue
            acc[(int(float(col["rank"])), int(float(col["adc_bits"])),
                 int(float(col["integration_ns"])))] = float(value)
    return acc


def evaluate(variant, accuracy: dict) -> dict[tuple, dict]:
    """Metrics of every grid point with ``variant`` (a function of the hardware) applied."""
    net = H.load_network(NETWORK)
    out = {}
    for key, hw, lora in points():
        r = H.evaluate_network(net, variant(hw), lora, seq_len=SEQ)
        out[key] = {"latency_us": r.total_ns / 1e3, "energy_uj": r.energy_pj / 1e6,
                    "fits": r.tcdm_fits, "accuracy": accuracy.get(key[:3])}
    return out


def front(metrics: dict[tuple, dict]) -> list[tuple]:
    """Non-dominated feasible points (accuracy max when known, latency and energy min)."""
    def vec(m):
        acc = m["accuracy"]
        return ((-acc,) if acc is not None else ()) + (m["latency_us"], m["energy_uj"])
    ok = {k: vec(m) for k, m in metrics.items() if m["fits"]}
    return sorted(k for k, v in ok.items()
                  if not any(all(a <= b for a, b in zip(w, v)) and w != v for w in ok.values()))


def pick(metrics: dict[tuple, dict], members: list[tuple]) -> tuple | None:
    """The quickstart's pick on the front: accuracy@1d >= 0.88 (when known), then the lowest latency."""
    cands = [k for k in members
             if metrics[k]["accuracy"] is None or metrics[k]["accuracy"] >= REQUIRE]
    return min(cands, key=lambda k: metrics[k]["latency_us"]) if cands else None


def run(accuracy: dict) -> dict:
    base = evaluate(lambda hw: hw, accuracy)
    base_front, base_pick = front(base), None
    base_pick = pick(base, base_front)
    rows = []
    for name, path, low, high, why in ASSUMPTIONS:
        row = {"assumption": name, "field": path, "low": low, "high": high, "why": why}
        for end, value in (("low", low), ("high", high)):
            got = evaluate(lambda hw, p=path, v=value: _set(hw, p, v), accuracy)
            f = front(got)
            p = pick(got, f)
            row[f"at_{end}"] = {
                "front_size": len(f), "front_added": [list(k) for k in f if k not in base_front],
                "front_removed": [list(k) for k in base_front if k not in f],
                "pick": list(p) if p else None, "pick_changed": p != base_pick,
                "pick_energy_change": (got[base_pick]["energy_uj"] / base[base_pick]["energy_uj"]
                                       - 1.0) if base_pick else None,
                "pick_latency_change": (got[base_pick]["latency_us"]
                                        / base[base_pick]["latency_us"] - 1.0)
                if base_pick else None}
        rows.append(row)
    return {"network": NETWORK, "seq_len": SEQ, "front_size": len(base_front),
            "front": [list(k) for k in base_front], "pick": list(base_pick) if base_pick else None,
            "pick_metrics": base[base_pick] if base_pick else None,
            "key": ["rank", "adc_bits", "integration_ns", "tokens"], "rows": rows}


def table(result: dict) -> str:
    out = ["| assumption | bounds | front changes (low / high) | pick (low / high) | "
           "pick's energy (low / high) |", "|---|---|---|---|---|"]

    def fr(e):
        n = len(e["front_added"]) + len(e["front_removed"])
        return "same" if not n else f"+{len(e['front_added'])} -{len(e['front_removed'])}"

    def pk(e):
        return "same" if not e["pick_changed"] else "/".join(map(str, e["pick"] or ["none"]))

    for r in result["rows"]:
        lo, hi = r["at_low"], r["at_high"]
        energy = ("-" if lo["pick_energy_change"] is None else
                  f"{lo['pick_energy_change']:+.1%} / {hi['pick_energy_change']:+.1%}")
        out.append(f"| {r['assumption']} | {r['low']} - {r['high']} | {fr(lo)} / {fr(hi)} "
                   f"| {pk(lo)} / {pk(hi)} | {energy} |")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=Path, default=ROOT / "results" / "quickstart" / "trials.csv",
                    help="a finished quickstart's trials.csv (accuracy@1d per setting)")
    args = ap.parse_args(argv)
    accuracy = read_accuracy(args.trials) if args.trials.exists() else {}
    result = run(accuracy)
    result["accuracy_from"] = str(args.trials) if accuracy else None
    print(json.dumps(result))
    print()
    print(f"base front: {result['front_size']} points; pick (rank, adc, ns, t): {result['pick']}")
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
