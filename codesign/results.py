"""Results of a study as tables and files: trials.csv, pareto.csv, config.yaml (and pareto.png).

Everything is derived from the Optuna storage, so ``codesign pareto`` can rebuild it at any time.
The Pareto front is Optuna's own (``Study.best_trials``: non-dominated among feasible trials),
computed without the screened trials a promotion measured again (:mod:`codesign.study.promotion`).
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
from codesign.study.record import RunFacts, TrialRecord, is_promotion, records, superseded
from codesign.table import cache_hits_text, extra_trials_text, trials_text

#: first columns of trials.csv, in order; then params, objectives, metrics, constraints
BASE_COLUMNS = ["number", "state", "feasible", "accuracy_cache_hit", "accuracy_skipped",
                "pruned_at_step", "training_steps", "warm_start", "screened", "sibling_of",
                "promotes", "superseded_by",
                "duration_s", "eval_s", "worker", "reason"]


def trials_table(study, loaded: LoadedStudy) -> pd.DataFrame:
    """One row per trial: params, objectives, every metric, constraint values, state, timings
    (each trial read once as its :class:`~codesign.study.record.TrialRecord`)."""
    keys = [objective_key(o) for o in loaded.config.objectives]
    recs = records(study)
    gone = superseded(recs)
    rows = [trial_row(rec, keys, gone.get(rec.number)) for rec in recs]
    params = [param_name(p) for p in loaded.axes]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=BASE_COLUMNS + params + keys)
    ordered = [c for c in BASE_COLUMNS + params + keys if c in df.columns]
    return df[ordered + [c for c in df.columns if c not in ordered]]


def trial_row(rec: TrialRecord, keys: list[str],
              superseded_by: int | None = None) -> dict[str, Any]:
    """A trial's row of trials.csv: :data:`BASE_COLUMNS`, then its params, its objectives
    (``keys``), its other metrics and its constraint values (``constraint[NAME]``);
    ``superseded_by``: the promotion that measured this screened trial again."""
    run = rec.run or RunFacts()
    training = run.training
    constraints = rec.constraints or {}
    row: dict[str, Any] = {
        "number": rec.number,
        "state": rec.state,
        "feasible": rec.feasible,
        "accuracy_cache_hit": run.accuracy_cache_hit,
        "accuracy_skipped": run.accuracy_skipped,
        # the training ledger: where the pruner stopped this setting, the steps this trial's
        # claim trained (0: found trained), the adapter a warm start began from
        "pruned_at_step": training.pruned_at if training else None,
        "training_steps": training.steps_trained if training else None,
        "warm_start": training.start if training else None,
        # a screen (search.screen_steps): warm-started across noises, a few steps
        "screened": training.screened if training else None,
        # a sibling: the trial whose accuracy measurement it shares (other tokens, TCDM...)
        "sibling_of": rec.sibling_of,
        # a promotion: the screened trial it measured again with the setting trained in full;
        # and, on that screened trial, the promotion (it is no longer on the front)
        "promotes": rec.promotes,
        "superseded_by": superseded_by,
        "duration_s": rec.duration_s,
        "eval_s": run.eval_s,
        "worker": run.worker,
        "reason": rec.reason,
    }
    row.update(rec.params)
    values: list[float | None] = list(rec.values) if rec.values else [None] * len(keys)
    row.update(dict(zip(keys, values)))
    metrics = rec.metrics or {}
    if rec.state == "PRUNED" and rec.partial:
        # a pruned setting: its objectives with the accuracy it had at its last checkpoint
        row.update({k: rec.partial.get(k, metrics.get(k)) for k in keys})
    for name, value in metrics.items():
        row.setdefault(name, value)
    row.update({f"constraint[{k}]": v for k, v in constraints.items()})
    return row


def pareto_table(study, loaded: LoadedStudy, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of the trials table that Optuna puts on the (feasible) Pareto front (without
    the screened trials that promotions measured again)."""
    from codesign.study.promotion import front as promoted_front

    table = trials_table(study, loaded) if table is None else table
    trials = study.get_trials(deepcopy=False)
    if not _has_complete(study):
        front: set[int] = set()
    elif any(is_promotion(t) for t in trials):
        front = promoted_front(trials, study.directions)
    else:
        front = {t.number for t in study.best_trials}
    return table[table["number"].isin(front)].reset_index(drop=True)


def _has_complete(study) -> bool:
    return any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False))


def resolved_config(loaded: LoadedStudy, storage_url: str) -> dict[str, Any]:
    """The study as it ran: every default filled in, the search space inline, package versions."""
    from codesign.storage import redact

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
    extra = extra_trials_text(table)
    if extra is not None:
        lines.append(f"  of which {extra}")
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

