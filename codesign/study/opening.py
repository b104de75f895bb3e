"""Opening a study: its sampler, its fingerprint (refusing an incompatible redefinition), the
checks before any trial, and the training ledger beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codesign.config import LoadedStudy, direction, objective_key
from codesign.errors import INPUT_ERRORS, InputError
from codesign.grid_sampler import StableGridSampler
from codesign.metrics import METRICS
from codesign.outage import OUTAGE_S
from codesign.search_space import apply_params, grid, param_name
from codesign.study import record
from codesign.study.heartbeats import experimental_ok
from codesign.study.locks import trial_slot_lock
from codesign.study.storage import make_storage


def make_sampler(loaded: LoadedStudy, seed: int):
    import optuna

    cfg = loaded.config
    if cfg.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=cfg.population_size, seed=seed)
    if cfg.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    if cfg.sampler == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if cfg.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # a grid's points keep their meaning across runs and workers: codesign.grid_sampler
    return StableGridSampler({param_name(p): v for p, v in grid(loaded.axes, cfg.design).items()},
                             seed=seed)


def fingerprint(loaded: LoadedStudy) -> dict[str, Any]:
    """What must not change between runs of one study: objectives and search space."""
    return {
        "objectives": [f"{objective_key(o)}:{direction(o)}" for o in loaded.config.objectives],
        "axes": sorted(param_name(p) for p in loaded.axes),
    }


@experimental_ok()
def open_study(loaded: LoadedStudy, storage, seed: int):
    """Create the study or load the one of the same name, refusing an incompatible redefinition."""
    import optuna

    cfg = loaded.config
    study = optuna.create_study(
        study_name=cfg.name, storage=storage, load_if_exists=True,
        directions=[direction(o) for o in cfg.objectives],
        sampler=make_sampler(loaded, seed),
    )
    mine = fingerprint(loaded)
    stored = record.stored_fingerprint(study)
    if stored is None:
        record.store_fingerprint(study, mine)
        study.set_metric_names([objective_key(o) for o in cfg.objectives])
    elif stored != mine:
        raise InputError(
            f"name: study {cfg.name!r} already exists in this storage with objectives "
            f"{stored['objectives']} and axes {stored['axes']}; this file asks for "
            f"{mine['objectives']} and {mine['axes']}: rename the study or use another --storage")
    return study


def preflight(loaded: LoadedStudy) -> None:
    """Refuse, before any trial, a network that does not exist and axis values that are invalid on
    their own with the fixed design (e.g. tokens above seq_len): InputError naming the value."""
    from codesign import evaluators

    cfg = loaded.config
    evaluators.network(cfg.workload.network)
    evaluators.hardware_metrics(cfg.design)
    for path, axis in loaded.axes.items():
        values = axis.choices if axis.choices is not None else [axis.low, axis.high]
        for i, value in enumerate(values):
            where = (f"search_space.{param_name(path)}.choices[{i}]" if axis.choices is not None
                     else f"search_space.{param_name(path)}.{('low', 'high')[i]}")
            try:
                evaluators.hardware_metrics(apply_params(cfg.design, {path: value}))
            except INPUT_ERRORS as exc:
                raise InputError(f"{where}: {exc}") from None


def accuracy_target(loaded: LoadedStudy) -> tuple[str, str]:
    """(direction, drift time) of what adapter training improves: the study's first accuracy
    objective (its horizon; 'mean' / 'worst': the longest evaluated drift time), else maximise
    at the first drift time. The training ledger's pruner compares checkpoints by it."""
    from codesign.metric_key import MetricKey

    times = list(loaded.config.accuracy.evaluation.drift_times)
    for o in loaded.config.objectives:
        if METRICS[o.name].needs_accuracy:
            key = MetricKey.of(o.name, o.at, "at")
            return direction(o), (times[-1] if key.aggregate else str(key.horizon))
    return "maximize", times[0]


def artifacts_location(loaded: LoadedStudy, out_dir: Path) -> str:
    """``search.artifacts``, or <out>/<name>/artifacts beside the study."""
    cfg = loaded.config
    return cfg.search.artifacts or str(Path(out_dir) / cfg.name / "artifacts")


def make_ledger(loaded: LoadedStudy, storage_url: str, out_dir: Path, heartbeat_s: int = 10,
                outage_s: float = OUTAGE_S):
    """The study's training ledger (:mod:`codesign.study.ledger`), or None without accuracy."""
    if not loaded.needs_accuracy:
        return None
    from codesign.study.ledger import Ledger

    cfg = loaded.config
    storage = make_storage(storage_url, heartbeat_s=heartbeat_s, grace_s=3 * heartbeat_s,
                           retry=False, outage_s=outage_s)
    return Ledger(storage, lambda name: trial_slot_lock(storage_url, name, outage_s), cfg.name,
                  accuracy_target(loaded)[0], cfg.search, artifacts_location(loaded, out_dir),
                  cfg.accuracy.training.steps)
