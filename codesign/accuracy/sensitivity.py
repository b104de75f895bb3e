"""Per-layer sensitivity: each layer's (or role's) loss of the metric when only it is analog, or
its gain when only it is digital.

The digital model is loaded and measured once; for each unit (a layer, or all layers of a role)
a copy of it gets only that unit's layers converted to analog tiles (``only="analog"``) or every
other body layer (``only="digital"``), programmed and drifted to one drift time
(``evaluation.n_draws`` chips, no adapters: the analog-before figure), and its metric compared
with the digital model's (or with the all-analog model's). Either way ``drop`` is what the unit
being analog costs: digital - (only it analog), or (all but it analog) - (all analog). The
ranking (largest loss first) is what ``hardware.digital.layers: top-K`` reads
(:mod:`hw_models.digital_spec`). Computing (:func:`measure`) and writing or drawing
(:func:`write_ranking`, :func:`draw`) are apart.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

from hw_models.digital_spec import RANKING_KIND
from hw_models.specs import AimcTileSpec

from codesign.accuracy.settings import AccuracySettings, EvaluationSettings, WorkloadSpec

#: how units are formed: one per layer, or one per role (all its layers at once)
UNITS = ("layer", "role")
#: which side a unit is alone on: the only analog unit, or the only digital one
ONLY = ("analog", "digital")
#: metrics for which lower is better (a loss of accuracy is then a rise)
LOWER_IS_BETTER = ("perplexity",)


def units(roles_by_name: dict, by: str) -> list[tuple[str, list[str]]]:
    """(label, module names) of each unit, in model order."""
    from codesign.accuracy.digital import layer_labels

    labels = layer_labels(roles_by_name)
    if by == "layer":
        return [(label, [name]) for name, label in labels.items()]
    groups: dict[str, list[str]] = {}
    for name in labels:
        groups.setdefault(str(roles_by_name[name]), []).append(name)
    return list(groups.items())


def drop(digital: float, analog: float, metric: str) -> float:
    """The loss of the metric from digital to analog (positive: worse)."""
    return analog - digital if metric in LOWER_IS_BETTER else digital - analog


def _unit_metric(model, names, task, rpu, aimc, settings, evaluation, device) -> dict:
    from codesign.accuracy import convert
    from codesign.accuracy.drift import evaluate_series
    from codesign.accuracy.engine import use_integration

    m = copy.deepcopy(model)
    convert.convert(m, names, rpu)
    m = m.to(device)
    if task.pad_free:
        from codesign.accuracy import rows

        rows.install(m, convert.analog_layers(m))
    use_integration(m, aimc, settings)
    label = evaluation.drift_times[0]
    out = evaluate_series(m, task, evaluation, device, {"a": contextlib.nullcontext})["a"][label]
    return {"analog": out["mean"], "std": out["std"], "draws": out["draws"]}


def measure(workload: WorkloadSpec, aimc: AimcTileSpec, settings: AccuracySettings,
            by: str = "layer", at: str = "1d", progress: bool = False,
            only: str = "analog") -> dict:
    """The ranking of a model's units by their loss of the metric at drift time ``at`` when
    only that unit is analog, or (``only="digital"``) by the metric regained when only it is
    digital (``settings.evaluation``: draws and seed)."""
    from codesign.accuracy import engine, roles
    from codesign.accuracy.rpu import build_rpu_config
    from codesign.accuracy.workloads import load_task

    engine._threads()
    device = engine.pick_device(settings.device)
    task = load_task(workload)
    model = task.load_model().to(device)
    task.prepare(model)
    digital = float(task.evaluate(model, device))
    model = model.cpu()
    rpu = build_rpu_config(aimc, settings.noise, gaussian_training=False)
    evaluation = EvaluationSettings(drift_times=(at,), n_draws=settings.evaluation.n_draws,
                                    seed=settings.evaluation.seed)
    rows = []
    todo = units(roles.linear_roles(model), by)
    body = [n for _, names in todo for n in names]
    ref = digital
    if only == "digital":        # the reference: every body layer analog
        ref = _unit_metric(model, body, task, rpu, aimc, settings, evaluation, device)["analog"]
    for k, (label, names) in enumerate(todo):
        convert_names = names if only == "analog" else [n for n in body if n not in names]
        row = _unit_metric(model, convert_names, task, rpu, aimc, settings, evaluation, device)
        loss = (drop(digital, row["analog"], task.metric) if only == "analog"
                else drop(row["analog"], ref, task.metric))
        rows.append({"name": label, "modules": names, **row, "drop": loss})
        if progress:
            print(f"  {k + 1}/{len(todo)} {label}: {row['analog']:.4f}", flush=True)
    rows.sort(key=lambda r: -r["drop"])
    return {"kind": RANKING_KIND, "by": by, "only": only, "workload": workload.name,
            "model": workload.model, "metric": task.metric, "digital": digital,
            "all_analog": ref if only == "digital" else None, "at": at,
            "draws": evaluation.n_draws, "seed": evaluation.seed,
            "adc_bits": aimc.adc_bits, "dac_bits": aimc.dac_bits, "ranking": rows}


def write_ranking(result: dict, path: Path) -> Path:
    """Write a ranking as JSON (its folder made if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return path


def draw(result: dict, path: Path) -> Path:
    """A bar figure of the ranking: each unit's loss of the metric (error bars: std over the
    draws), most sensitive first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["ranking"]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.22 * len(rows) + 1.5), 3.4))
    ax.bar(range(len(rows)), [r["drop"] for r in rows], yerr=[r["std"] for r in rows],
           color="#4c72b0", ecolor="#555555", capsize=1.5)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["name"] for r in rows], rotation=90, fontsize=7)
    ax.set_ylabel(f"loss of {result['metric']}")
    ax.set_title(f"{result['workload']}: only this {result['by']} "
                 f"{result.get('only', 'analog')}, {result['at']} "
                 f"after programming ({result['draws']} draws; digital "
                 f"{result['digital']:.4g})", fontsize=8)
    ax.axhline(0.0, color="black", linewidth=0.6)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
