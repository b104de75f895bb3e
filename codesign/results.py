"""Results of a study as tables and files: trials.csv, pareto.csv, config.yaml (and pareto.png).

Everything is derived from the Optuna storage, so ``codesign pareto`` can rebuild it at any time.
The Pareto front is Optuna's own (``Study.best_trials``: non-dominated among feasible trials).
"""

from __future__ import annotations

import dataclasses
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from codesign.config import LoadedStudy, objective_key, objectives_of
from codesign.files import write_atomic
from codesign.plain import plain
from codesign.search_space import param_name
from codesign.table import cache_hits_text, trials_text

#: first columns of trials.csv, in order; then params, objectives, metrics, constraints
BASE_COLUMNS = ["number", "state", "feasible", "accuracy_cache_hit", "accuracy_skipped",
                "pruned_at_step", "training_steps", "warm_start", "duration_s", "eval_s",
                "worker", "reason"]


def trials_table(study, loaded: LoadedStudy) -> pd.DataFrame:
    """One row per trial: params, objectives, every metric, constraint values, state, timings."""
    keys = [objective_key(o) for o in loaded.config.objectives]
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        run = attrs.get("run") or {}
        training = run.get("training") or {}
        constraints = attrs.get("constraints", {}) or {}
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "feasible": (all(v <= 0 for v in constraints.values())
                         if t.state.name == "COMPLETE" else None),
            "accuracy_cache_hit": run.get("accuracy_cache_hit"),
            "accuracy_skipped": run.get("accuracy_skipped"),
            # the training ledger: where the pruner stopped this setting, the steps this trial's
            # claim trained (0: found trained), the adapter a warm start began from
            "pruned_at_step": training.get("pruned_at"),
            "training_steps": (max(0, training["to_step"] - training["from_step"])
                               if training.get("trained_here") else 0 if training else None),
            "warm_start": training.get("start"),
            "duration_s": t.duration.total_seconds() if t.duration else None,
            "eval_s": run.get("eval_s"),
            "worker": run.get("worker"),
            "reason": attrs.get("reason") or _fail_reason(t),
        }
        row.update({name: value for name, value in t.params.items()})
        values = t.values or [None] * len(keys)
        row.update(dict(zip(keys, values)))
        if t.state.name == "PRUNED" and attrs.get("partial"):
            # a pruned setting: its objectives with the accuracy it had at its last checkpoint
            metrics = attrs.get("metrics") or {}
            row.update({k: attrs["partial"].get(k, metrics.get(k)) for k in keys})
        for name, value in (attrs.get("metrics") or {}).items():
            row.setdefault(name, value)
        row.update({f"constraint[{k}]": v for k, v in constraints.items()})
        rows.append(row)
    params = [param_name(p) for p in loaded.axes]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=BASE_COLUMNS + params + keys)
    ordered = [c for c in BASE_COLUMNS + params + keys if c in df.columns]
    return df[ordered + [c for c in df.columns if c not in ordered]]


def _fail_reason(trial) -> str | None:
    if trial.state.name != "FAIL":
        return None
    return trial.system_attrs.get("fail_reason") or "failed (see the worker's log)"


def pareto_table(study, loaded: LoadedStudy, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of the trials table that Optuna puts on the (feasible) Pareto front."""
    table = trials_table(study, loaded) if table is None else table
    front = {t.number for t in study.best_trials} if _has_complete(study) else set()
    return table[table["number"].isin(front)].reset_index(drop=True)


def _has_complete(study) -> bool:
    return any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False))


def resolved_config(loaded: LoadedStudy, storage_url: str) -> dict[str, Any]:
    """The study as it ran: every default filled in, the search space inline, package versions."""
    from codesign.study import redact

    cfg = dataclasses.asdict(loaded.config)
    cfg["search_space"] = {param_name(p): {k: v for k, v in dataclasses.asdict(a).items()
                                           if v is not None and v is not False}
                           for p, a in loaded.axes.items()}
    cfg["storage"] = redact(storage_url)
    return {"study": plain(cfg, nonfinite_as_text=True),
            "source": str(loaded.source) if loaded.source else None,
            "versions": package_versions()}


def package_versions() -> dict[str, str]:
    out = {}
    for name in ("codesign", "optuna", "simpy", "numpy", "pandas", "torch", "aihwkit",
                 "transformers", "peft"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_results(study, loaded: LoadedStudy, folder: Path, storage_url: str) -> dict[str, Path]:
    """Write trials.csv, pareto.csv, pareto.png and config.yaml into ``folder``."""
    from codesign.figures.data import pareto_data
    from codesign.figures.draw import draw_pareto, save_figure

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = trials_table(study, loaded)
    front = pareto_table(study, loaded, table)
    paths = {"trials": folder / "trials.csv", "pareto": folder / "pareto.csv",
             "plot": folder / "pareto.png", "config": folder / "config.yaml"}
    _to_csv(table, paths["trials"])
    _to_csv(front, paths["pareto"])
    fig = draw_pareto(pareto_data(table, front, objectives_of(loaded)))
    save_figure(fig, folder, paths["plot"].stem, ("png",))
    text = yaml.safe_dump(resolved_config(loaded, storage_url), sort_keys=False)
    write_atomic(paths["config"], text)
    return paths


def _to_csv(df: pd.DataFrame, path: Path) -> None:
    write_atomic(path, lambda tmp: df.to_csv(tmp, index=False))


def summary_lines(table: pd.DataFrame, front: pd.DataFrame, loaded: LoadedStudy) -> list[str]:
    """A short human summary of a study's results."""
    lines = [f"trials: {trials_text(table)}"]
    hits = cache_hits_text(table)
    if hits is not None:
        lines.append(f"accuracy cache hits: {hits}")
    lines.append(f"Pareto front: {len(front)} trial(s)")
    keys = [objective_key(o) for o in loaded.config.objectives]
    params = [param_name(p) for p in loaded.axes]
    if not front.empty:
        shown = front[[c for c in ["number"] + params + keys if c in front.columns]]
        lines.append(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return lines

