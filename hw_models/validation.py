"""The model against published figures, one row per figure, each with its source.

Rows: an IBM HERMES core (Le Gallo et al., Nature Electronics 2023) at 8 bit, its MVM latency and
TOPS/W (these two set ``mvm_overhead_ns`` and, with the shares of
:data:`hw_models.calibration.HERMES_SPLIT`, the tile's window, CCO, digital and readout energy
constants, so they check the derivation), the HERMES core alone (Khaddam-Aljameh et al., IEEE
JSSC 2022; a prediction), RedMulE's GFLOPS/W (Tortorella et al. 2022), the AHWA-LoRA paper's
512x128 PMCA/AIMC ratios and
overheads and its 128x128 best case (Li et al. 2026; hw_models.calibration, with a TCDM as large as
the working set, as the paper measures), and the default 512 x 512 tile's TOPS/W at 8 bit, which
must land in a 3-20 TOPS/W plausibility range around HERMES's 9.76.
"""

from __future__ import annotations

from . import aimc
from .calibration import calibration_rows
from .specs import AimcTileSpec, PmcaSpec

HERMES = "Le Gallo et al., Nature Electronics 2023 (HERMES, 64 cores, one-phase 8-bit MVM)"
#: 64 cores x 2 x 256 x 256 ops / 63.1 TOPS peak
HERMES_MVM_NS = 64 * 2 * 256 * 256 / 63.1e12 * 1e9
HERMES_TOPS_W = 9.76
HERMES_CORE_TOPS_W = 10.5
REDMULE_GFLOPS_W = 688.0
#: the range the default tile's 8-bit TOPS/W must land in
TILE_TOPS_W_RANGE = (3.0, 20.0)
TOLERANCE = 0.15          # HERMES figures
PAPER_TOLERANCE = 0.05    # the paper's figures and RedMulE's


def _row(figure: str, setting: str, published: float | None, model: float, unit: str,
         source: str, kind: str, tol: float | None = None, bounds: tuple | None = None) -> dict:
    if bounds is not None:
        ok = bounds[0] <= model <= bounds[1]
    else:
        assert published is not None and tol is not None, "a row needs bounds or a tolerance"
        ok = abs(model - published) <= tol * abs(published)
    return {"figure": figure, "setting": setting, "published": published, "model": model,
            "unit": unit, "tolerance": tol, "bounds": list(bounds) if bounds else None,
            "error": None if published is None else model / published - 1.0, "ok": bool(ok),
            "kind": kind, "source": source}


def validation_rows(pmca: PmcaSpec | None = None) -> list[dict]:
    """Model vs published figures (see the module docstring); ``ok`` says whether the model is
    within ``tolerance`` (relative) of ``published``, or inside ``bounds``."""
    pmca = pmca or PmcaSpec()
    hermes = AimcTileSpec.hermes()
    rows = [
        _row("MVM latency", "HERMES-like core 256x256, 8 bit", HERMES_MVM_NS,
             aimc.mvm_ns(hermes), "ns", HERMES + ": 64 x 2 x 256^2 ops / 63.1 TOPS",
             "derivation check (sets mvm_overhead_ns)", tol=TOLERANCE),
        _row("energy efficiency", "HERMES-like core 256x256, 8 bit", HERMES_TOPS_W,
             aimc.tops_per_watt(hermes), "TOPS/W", HERMES,
             "derivation check (sets the split constants)", tol=TOLERANCE),
        _row("energy efficiency", "HERMES-core alone, 256x256", HERMES_CORE_TOPS_W,
             aimc.tops_per_watt(hermes), "TOPS/W",
             "Khaddam-Aljameh et al., IEEE JSSC 2022 (HERMES-core, measured)", "prediction",
             tol=TOLERANCE),
        _row("RedMulE efficiency", "FP16 GEMM, 2 FLOP per MAC", REDMULE_GFLOPS_W,
             2.0 / pmca.redmule_pj_per_mac * 1e3, "GFLOPS/W",
             "Tortorella et al. 2022 (RedMulE, 688 GFLOPS/W)", "constant check",
             tol=PAPER_TOLERANCE),
    ]
    for r in calibration_rows(pmca):
        if r["paper"] is None or r["figure"] == "TCDM KiB":
            continue
        best = r["layer"] == "128x128"
        rows.append(_row(("best-case overhead" if best else r["figure"]),
                         f"{r['layer']}, {r['setting']}, rank 8", r["paper"], r["model_roomy"],
                         "x", "Li et al. 2026 (AHWA-LoRA), paper tile, TCDM as needed",
                         r["kind"], tol=PAPER_TOLERANCE))
    tile = AimcTileSpec()
    rows.append(_row("energy efficiency", f"default tile {tile.rows}x{tile.cols}, 8 bit, "
                     f"{tile.integration_ns:g} ns, {tile.dac_kind}/{tile.adc_kind}", None,
                     aimc.tops_per_watt(tile), "TOPS/W",
                     "plausibility range for an 8-bit PCM tile (HERMES: 9.76 TOPS/W, "
                     "Le Gallo et al. 2023)", "prediction", bounds=TILE_TOPS_W_RANGE))
    return rows


def format_table(rows: list[dict]) -> str:
    """A Markdown table of :func:`validation_rows`."""
    out = ["| figure | setting | published | model | unit | within | kind | source |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pub = (f"{r['bounds'][0]:g}-{r['bounds'][1]:g}" if r["bounds"]
               else f"{r['published']:.4g}")
        within = ("range" if r["bounds"] else f"{r['tolerance']:.0%}") + \
            (" ok" if r["ok"] else " FAIL")
        out.append(f"| {r['figure']} | {r['setting']} | {pub} | {r['model']:.4g} | {r['unit']} "
                   f"| {within} | {r['kind']} | {r['source']} |")
    return "\n".join(out)


#: the MVM energy parts as the tables name them
PART_LABELS = {"array_pj": "array", "dac_pj": "input encoding",
               "window_pj": "integration-window periphery", "adc_pj": "conversion",
               "digital_pj": "per-column digital", "readout_pj": "readout", "total": "total"}
#: where each MVM energy part's figure comes from (:func:`tile_breakdown_rows`)
PART_SOURCES = {
    "array_pj": "physics: cells x G_max 25 uS x mean |w| 0.266 x (0.2 V)^2 x mean on-time "
                "(paper G_max; Joshi et al. 2020 read voltage; 3-sigma clipping)",
    "dac_pj": "assumption: 0.2 pJ per row at 8 bit (comparator + row line), x2 per bit for PWM",
    "window_pj": "HERMES 13.4 nJ (Le Gallo et al. 2023) x 35 % of its remainder (assumption, "
                 "HERMES_SPLIT), per column x window",
    "adc_pj": "cco: HERMES remainder x 40 % (assumption, HERMES_SPLIT) / 2^8 steps; sar/ramp/"
              "flash: hwcomponents-adc's fit to Murmann's survey, 14 nm, at the MVM rate",
    "digital_pj": "HERMES remainder x 20 % (assumption, HERMES_SPLIT), per column x bits/8",
    "readout_pj": "HERMES remainder x 5 % (the rest of HERMES_SPLIT), per column x bits",
}


def tile_breakdown_rows(tiles: dict | None = None) -> list[dict]:
    """One row per tile and MVM energy part: ``tile``, ``part``, ``pj``, ``share`` of the MVM,
    ``source``; tiles default to the default 512 x 512 tile and the HERMES preset."""
    tiles = tiles or {"default 512x512 (256 ns, pwm/sar)": AimcTileSpec(),
                      "HERMES 256x256 (128 ns, pwm/cco)": AimcTileSpec.hermes()}
    rows = []
    for name, tile in tiles.items():
        b = aimc.mvm_breakdown(tile)
        shares = b.shares()
        for part in aimc.ENERGY_PARTS:
            rows.append({"tile": name, "part": part, "pj": getattr(b, part),
                         "share": shares[part], "source": PART_SOURCES[part]})
        rows.append({"tile": name, "part": "total", "pj": b.total_pj, "share": 1.0,
                     "source": f"{aimc.tops_per_watt(tile):.2f} TOPS/W"})
    return rows


def format_breakdown(rows: list[dict]) -> str:
    """A Markdown table of :func:`tile_breakdown_rows`, one column pair per tile."""
    tiles = list(dict.fromkeys(r["tile"] for r in rows))
    parts = list(dict.fromkeys(r["part"] for r in rows))
    at = {(r["tile"], r["part"]): r for r in rows}
    out = ["| part | " + " | ".join(tiles) + " | source |",
           "|---" * (len(tiles) + 2) + "|"]
    for part in parts:
        cells = [f"{at[(t, part)]['pj'] / 1e3:.2f} nJ ({at[(t, part)]['share']:.0%})"
                 for t in tiles]
        src = at[(tiles[0], part)]["source"] if part != "total" else \
            ", ".join(at[(t, part)]["source"] for t in tiles)
        out.append(f"| {PART_LABELS[part]} | " + " | ".join(cells) + f" | {src} |")
    return "\n".join(out)
