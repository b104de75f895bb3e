"""What each hardware knob moves: MobileBERT at the paper's point, one knob changed at a time.

    .venv/bin/python benchmarks/knobs.py            # JSON, then a Markdown table

The base point is the AHWA-LoRA paper's (Li et al. 2026): MobileBERT, LoRA rank 8 on every linear
layer, 320 tokens in chunks of t = 8, 256 ns integration, 8-bit ADCs and DACs, 128 KiB TCDM, with
the default tile (PWM DACs, SAR ADCs). Each row changes one knob and prints the relative change of
latency, energy, peak TCDM working set, area and chips (hw_models) and of the tile's noise as the
accuracy model sees it (codesign.accuracy.rpu, no torch needed): the output noise, which falls as
1/sqrt(integration time), and the ADC and DAC quantisation steps; ``mvm_nj`` is the energy of one
MVM on the knob's tile (hw_models.aimc), and ``compared with`` names the published figure that
knob's leverage is to be held against (:data:`PUBLISHED`). The figures are analytic and the same
on any machine.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hw_models as H  # noqa: E402
from codesign.accuracy.rpu import integration_noise, resolution  # noqa: E402
from codesign.accuracy.settings import NoiseSettings  # noqa: E402

BASE_HW = H.HardwareSpec(aimc=H.AimcTileSpec(integration_ns=256, adc_bits=8, dac_bits=8),
                         pmca=H.PmcaSpec(tcdm_kib=128), tokens=8)
BASE_LORA = H.LoraSpec(rank=8, placement="all")
SEQ = 320
#: figure -> report attribute, scale to the printed unit
FIGURES = {"latency_us": ("total_ns", 1e-3), "energy_uj": ("energy_pj", 1e-6),
           "tcdm_kib": ("tcdm_bytes", 1 / 1024), "area_mm2": ("area_mm2", 1.0),
           "chips": ("chips", 1.0)}
NOISE = ("out_noise", "adc_step", "dac_step")
#: knob -> the published figure its leverage is compared with
PUBLISHED = {
    "ADC 8 -> 6 bit": "conversion x0.25 by Walden (20 fJ/step, Murmann's ADC survey); "
                      "hwcomponents-adc's survey fit: nearly flat below 8 bit (issue 21)",
    "DAC 8 -> 6 bit": "PWM pulses and counter x0.25 (2^(bits-1) LSB pulses, HERMES: Le Gallo "
                      "et al. 2023)",
    "integration 256 -> 128 ns": "window-active periphery and array x0.5; shorter integration "
                                 "raises measured PCM TOPS/W (HERMES 128 ns window; Singh et al. "
                                 "2025 via issue 21)",
    "t 8 -> 16 tokens": "TCDM grows with t: 8.2 -> 70 KiB for t 8 -> 128 (Li et al. 2026)",
    "rank 8 -> 16": "PMCA time ~ fixed + t 2 r (m + n) FLOP (Li et al. 2026, "
                    "docs/reference/paper.md s. 5)",
    "TCDM 128 -> 256 KiB": "SRAM area, energy and leakage at its size (CACTI via "
                           "hwcomponents-cacti)",
    "gate idle tiles and clusters": "assumption (wake-up = 100 ns of leakage); PCM keeps its "
                                    "weights unpowered (Le Gallo et al. 2023)",
    "RedMulE energy x1.5 (1 GHz)": "688 GFLOPS/W at ~473 MHz (Tortorella et al. 2022); "
                                   "energy ~ V^2 above it (assumption)",
}


def knobs() -> list[tuple[str, H.HardwareSpec, H.LoraSpec]]:
    """(label, hardware, adapter) of every one-knob change from the base point."""
    a, p = BASE_HW.aimc, BASE_HW.pmca
    tile = lambda **kw: dataclasses.replace(BASE_HW, aimc=dataclasses.replace(a, **kw))  # noqa
    return [
        ("ADC 8 -> 6 bit", tile(adc_bits=6), BASE_LORA),
        ("DAC 8 -> 6 bit", tile(dac_bits=6), BASE_LORA),
        ("integration 256 -> 128 ns", tile(integration_ns=128), BASE_LORA),
        ("t 8 -> 16 tokens", dataclasses.replace(BASE_HW, tokens=16), BASE_LORA),
        ("rank 8 -> 16", BASE_HW, dataclasses.replace(BASE_LORA, rank=16)),
        ("TCDM 128 -> 256 KiB",
         dataclasses.replace(BASE_HW, pmca=dataclasses.replace(p, tcdm_kib=256)), BASE_LORA),
        ("gate idle tiles and clusters",
         dataclasses.replace(BASE_HW, chip=dataclasses.replace(
             BASE_HW.chip, aimc_idle_leakage_share=0.0, cluster_idle_leakage_share=0.0)),
         BASE_LORA),
        ("RedMulE energy x1.5 (1 GHz)",
         dataclasses.replace(BASE_HW, pmca=dataclasses.replace(p, redmule_energy_scale=1.5)),
         BASE_LORA),
    ]


def figures(report, hw: H.HardwareSpec) -> dict[str, float]:
    """The hardware model's figures of a report and the noise its tile gives the accuracy model."""
    out = {name: float(getattr(report, attr)) * scale
           for name, (attr, scale) in FIGURES.items() if hasattr(report, attr)}
    out["mvm_nj"] = H.aimc.mvm_energy_pj(hw.aimc) / 1e3
    out["static_uj"] = report.static_energy_pj / 1e6
    out["out_noise"] = integration_noise(hw.aimc.integration_ns, NoiseSettings())[0]
    out["adc_step"] = resolution(hw.aimc.adc_bits)
    out["dac_step"] = resolution(hw.aimc.dac_bits)
    return out


def rows(network: str = "mobilebert") -> list[dict]:
    """The base point and each knob's change: absolute figures and relative change."""
    net = H.load_network(network)
    base = figures(H.evaluate_network(net, BASE_HW, BASE_LORA, seq_len=SEQ), BASE_HW)
    out = [{"knob": "base point", **base}]
    for label, hw, lora in knobs():
        got = figures(H.evaluate_network(net, hw, lora, seq_len=SEQ), hw)
        out.append({"knob": label, **got, "compared_with": PUBLISHED[label],
                    **{f"{k}_change": got[k] / base[k] - 1.0 for k in base if base[k]}})
    return out


def table(rows_: list[dict]) -> str:
    names = [k for k in (*FIGURES, "static_uj", "mvm_nj", *NOISE) if k in rows_[0]]
    out = ["| knob | " + " | ".join(names) + " | compared with |",
           "|---" * (len(names) + 2) + "|"]
    for r in rows_:
        cells = [f"{r[k]:,.4g}" if r["knob"] == "base point" else
                 f"{r.get(k + '_change', 0.0):+.2%}" for k in names]
        out.append(f"| {r['knob']} | " + " | ".join(cells) + f" | {r.get('compared_with', '')} |")
    return "\n".join(out)


def main() -> int:
    result = rows()
    print(json.dumps({"network": "mobilebert", "seq_len": SEQ, "rows": result}))
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
