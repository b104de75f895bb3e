"""Figures of a study: data first (:mod:`.data`, :mod:`.models`), drawing second (:mod:`.draw`).

:func:`study_figures` decides which figures a study has (a latency-only study has no drift plot)
and computes their data; :func:`write_figures` draws and saves them (PNG + SVG by default).
``codesign plot`` and ``codesign report`` both go through these two functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from codesign.figures import draw as _draw
from codesign.figures.data import (DriftData, HypervolumeData, ParallelData, ParetoData,
                                   RankSweepData, drift_data, hypervolume_history, parallel_data,
                                   pareto_data, rank_sweep_data)
from codesign.figures.draw import save_figure
from codesign.figures.models import (LayerLatencyData, TcdmData, TokensSweepData,
                                     layer_latency_data, tcdm_data, tokens_sweep_data)
from codesign.study.record import records

__all__ = ["FigureSpec", "study_figures", "write_figures", "pareto_data", "hypervolume_history",
           "parallel_data", "drift_data", "rank_sweep_data", "tokens_sweep_data", "tcdm_data",
           "layer_latency_data", "save_figure", "ParetoData", "HypervolumeData", "ParallelData",
           "DriftData", "RankSweepData", "TokensSweepData", "TcdmData", "LayerLatencyData"]


@dataclass
class FigureSpec:
    """One figure: its file stem, title and caption, its data and the function that draws it."""

    stem: str
    title: str
    caption: str
    data: Any
    draw: Callable[[Any], Any]
    group: str = "study"  # "study" (from the trials) or "model" (from the hardware model)

    def figure(self):
        return self.draw(self.data)


@dataclass
class StudyFigures:
    figures: list[FigureSpec]
    #: figures a study does not have, with the reason (shown in the report)
    skipped: dict[str, str] = field(default_factory=dict)


def design_for_models(loaded, picked: dict | None = None):
    """The design point the model figures use: the picked configuration, else the study's fixed
    design (its hardware, LoRA and workload before the search varies them)."""
    from codesign.search_space import apply_params, resolve_path

    design = loaded.config.design
    if picked and isinstance(picked.get("params"), dict):
        try:
            design = apply_params(design, {resolve_path(k): v for k, v in picked["params"].items()})
        except Exception:  # a picked.yaml from another version of the study: keep the fixed one
            design = loaded.config.design
    return design


def study_figures(study, loaded, table, front, picked: dict | None = None,
                  models: bool = True) -> StudyFigures:
    """Compute the data of every figure this study has from its trials table and front (those of
    :mod:`codesign.results`) and its trials' drift records (nothing is drawn here)."""
    from codesign.config import objectives_of
    from codesign.search_space import param_name

    objectives = objectives_of(loaded)
    params = [param_name(p) for p in loaded.axes]
    out = StudyFigures([])
    n_obj = len(objectives)
    pareto = pareto_data(table, front, objectives)
    shape = {1: "the objective against the trial number",
             2: "the two objectives",
             }.get(n_obj, f"every pair of the {n_obj} objectives (projections of the front)")
    out.figures.append(FigureSpec(
        "pareto", "Pareto front",
        f"{pareto.title}. Panels: {shape}. Dominated feasible trials grey, infeasible trials "
        f"marked x, the front coloured by {pareto.color_by or 'one colour'} and labelled #trial.",
        pareto, _draw.draw_pareto))
    hv = hypervolume_history(table, objectives)
    if hv is not None:
        out.figures.append(FigureSpec(
            "hypervolume", "Hypervolume history",
            "Hypervolume of the feasible front after each complete trial (Optuna's exact "
            "hypervolume). Each objective is scaled to 0..1 over the feasible trials (0 = best "
            f"seen), reference point {hv.reference:g}; a flat tail means the search has stopped "
            "finding better trade-offs.", hv, _draw.draw_hypervolume))
    else:
        out.skipped["hypervolume"] = ("needs two or more objectives and a feasible complete trial")
    par = parallel_data(table, front, params, objectives)
    if par is not None:
        out.figures.append(FigureSpec(
            "parallel", "Parallel coordinates",
            "Each complete trial is one line through its parameter values and objectives; front "
            f"trials in colour ({par.color_by or 'one colour'}), the others grey.",
            par, _draw.draw_parallel))
    else:
        out.skipped["parallel"] = "no complete trial"
    if loaded.needs_accuracy:
        _add_accuracy_figures(out, study, table, front, params)
    else:
        out.skipped["drift"] = out.skipped["rank_sweep"] = "latency-only study (no accuracy)"
    if models:
        _add_model_figures(out, loaded, picked)
    return out


def _add_accuracy_figures(out: StudyFigures, study, table, front, params: list[str]) -> None:
    """The drift curves of the front and the rank sweep, or why each is skipped."""
    front_numbers = list(front["number"]) if not front.empty else []
    drift = drift_data(records(study), front_numbers, params)
    if drift is not None:
        out.figures.append(FigureSpec(
            "drift", "Accuracy vs drift time",
            f"{drift.metric} of each front configuration after AHWA-LoRA training against "
            "the time since programming: mean over the noise draws, band +-1 std; dotted: the "
            "same analog model before adapter training; dashed black: digital. Front trials "
            "with identical adapters share one line.", drift, _draw.draw_drift))
    else:
        out.skipped["drift"] = "no front trial recorded a drift series"
    sweep = rank_sweep_data(table)
    if sweep is not None:
        out.figures.append(FigureSpec(
            "rank_sweep", "Rank sweep",
            "Accuracy against LoRA rank at each evaluated drift time (cf. paper fig. 2a): "
            "the best trial of each rank, the band down to the worst trial of that rank "
            "(other knobs vary across those trials).", sweep, _draw.draw_rank_sweep))
    else:
        out.skipped["rank_sweep"] = "the study does not vary the rank"


def _add_model_figures(out: StudyFigures, loaded, picked: dict | None) -> None:
    design = design_for_models(loaded, picked)
    hw, lora, seq_len = design.hardware, design.lora, design.workload.seq_len
    rank = lora.rank or 8
    which = "the picked configuration" if picked else "the study's fixed hardware"
    sweep = tokens_sweep_data(hw, rank=rank, seq_len=seq_len)
    tcdm = tcdm_data(hw, rank=rank, seq_len=seq_len)
    layers = layer_latency_data(design.workload.network, hw, lora, seq_len)
    best = "; ".join(f"{c.integration_ns:g} ns: t={c.best_tokens}, ratio {c.best_ratio:.2f}, "
                     f"{c.best_overhead:.2f}x" for c in sweep.curves)
    out.figures.append(FigureSpec(
        "tokens_sweep", "PMCA vs AIMC latency against t",
        f"Closed-form model of one {sweep.m}x{sweep.n} layer, LoRA rank {rank}, {seq_len} tokens, "
        f"other hardware from {which} (cf. paper fig. 4a). AIMC time of a chunk of t tokens per "
        f"integration time (dashed) and the PMCA's LoRA time. Best t (least pipelined latency), "
        f"PMCA/AIMC ratio and overhead there: {best}.", sweep, _draw.draw_tokens_sweep,
        group="model"))
    out.figures.append(FigureSpec(
        "tcdm", "TCDM working set against t",
        f"Peak PMCA TCDM working set (inputs and low-rank updates), LoRA rank {rank}, against t "
        f"for MobileBERT's layer shapes (cf. paper fig. 4b); dashed: the TCDM of {which}.",
        tcdm, _draw.draw_tcdm, group="model"))
    out.figures.append(FigureSpec(
        "layer_latency", "Per-layer latency with and without LoRA",
        f"{layers.network}, {which}: rank {layers.rank}, placement {layers.placement}, "
        f"t_int {layers.integration_ns:g} ns, t={layers.tokens}, {seq_len} tokens (cf. paper fig. "
        f"4c). One bar pair per distinct layer (xN: how many identical copies); the "
        f"whole network takes {layers.total_ns / 1e3:.4g} us with LoRA against "
        f"{layers.aimc_only_ns / 1e3:.4g} us without ({layers.overhead:.3f}x).",
        layers, _draw.draw_layer_latency, group="model"))


def write_figures(figures: Sequence[FigureSpec], folder: Path,
                  formats: Sequence[str] = ("png", "svg")) -> dict[str, list[Path]]:
    """Draw every figure and save it as ``folder/<stem>.<fmt>``; stem -> paths."""
    out = {}
    for spec in figures:
        fig = spec.figure()
        out[spec.stem] = save_figure(fig, folder, spec.stem, formats)
    return out
