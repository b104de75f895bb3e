"""The function Optuna calls per trial: suggest a point, evaluate its hardware, then its accuracy
if the study needs it (through the study's training ledger), and write the trial's record
(:mod:`codesign.study.record`) once."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from codesign.accuracy.draws import series_with_draws
from codesign.config import LoadedStudy, direction, objective_key
from codesign.metrics import METRICS
from codesign.outage import DiskFull, StorageUnavailable
from codesign.search_space import apply_params, param_name, to_distributions
from codesign.study import record
from codesign.study.opening import accuracy_target
from codesign.study.pruners import Stop, prune
from codesign.study.record import Drift, RunFacts, TrialRecord


def worker_id() -> str:
    """Who runs a trial: host and process id, recorded with every trial."""
    return f"{socket.gethostname()}:{os.getpid()}"


def suggest(trial, name: str, dist) -> Any:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


@dataclass
class _Plan:
    """What every trial of one study evaluates (fixed before the first trial)."""

    loaded: LoadedStudy
    cache_dir: Path
    progress: bool
    ledger: Any
    dists: dict
    hw_rules: list
    wanted: list[str]
    proxy_at: str

    @classmethod
    def of(cls, loaded: LoadedStudy, cache_dir: Path, progress: bool, ledger) -> _Plan:
        cfg = loaded.config
        return cls(loaded, cache_dir, progress, ledger, to_distributions(loaded.axes, cfg.design),
                   [r for r in loaded.rules if not METRICS[r.base].needs_accuracy],
                   [objective_key(o) for o in cfg.objectives] + [r.metric for r in loaded.rules],
                   accuracy_target(loaded)[1])


def make_objective(loaded: LoadedStudy, cache_dir: Path, progress: bool = False,
                   min_trial_s: float = 0.0, ledger=None) -> Callable:
    """The function Optuna calls per trial: suggest, evaluate hardware, then accuracy if needed
    (through the study's training ledger when one is given: :func:`codesign.study.make_ledger`).
    A trial that raises is failed by Optuna with its reason recorded; one that is pruned
    (infeasible before accuracy, or its setting stopped by the ledger's pruner) is pruned here,
    in one place (:func:`codesign.study.pruners.prune`)."""
    plan = _Plan.of(loaded, Path(cache_dir), progress, ledger)
    objectives = loaded.config.objectives

    def objective(trial):
        start = time.perf_counter()
        rec = TrialRecord()
        try:
            stop = _evaluate(trial, plan, rec, start)
        except (StorageUnavailable, DiskFull):
            raise  # (the storage cannot take a reason now: run_study reports it in one line)
        except Exception as exc:  # recorded with the trial, which Optuna then marks failed
            record.write(trial, TrialRecord(reason=rec.reason or f"{type(exc).__name__}: {exc}"))
            raise
        if stop is not None:
            prune(stop)
        time.sleep(max(0.0, min_trial_s - (time.perf_counter() - start)))
        assert rec.metrics is not None
        return tuple(rec.metrics[objective_key(o)] for o in objectives)

    return objective


def _evaluate(trial, plan: _Plan, rec: TrialRecord, start: float) -> Stop | None:
    """Fill ``rec`` for one trial and write it; a :class:`Stop` when the trial is to be pruned."""
    from codesign import evaluators

    loaded, cfg = plan.loaded, plan.loaded.config
    params = {path: suggest(trial, param_name(path), d) for path, d in plan.dists.items()}
    point = apply_params(cfg.design, params)  # SpecError -> the trial fails with its reason
    rec.metrics = evaluators.hardware_metrics(point)
    rec.constraints = {str(r): r.violation(rec.metrics[r.metric]) for r in plan.hw_rules}
    rec.run = RunFacts(worker_id(), accuracy_skipped=False)
    stop = None
    if loaded.needs_accuracy:
        if cfg.skip_accuracy_if_infeasible and any(v > 0 for v in rec.constraints.values()):
            broken = ", ".join(k for k, v in rec.constraints.items() if v > 0)
            rec.run.accuracy_skipped = True
            rec.reason = f"accuracy skipped: infeasible ({broken})"
            stop = Stop(f"infeasible before accuracy: {broken}")
        else:
            # a promotion (codesign.study.promotion) measures its point with the setting
            # trained in full
            stop = _accuracy(point, plan, rec, screen=not record.is_promotion(trial))
    rec.run.eval_s = round(time.perf_counter() - start, 4)
    record.write(trial, rec)
    return stop


def _accuracy(point, plan: _Plan, rec: TrialRecord, screen: bool = True) -> Stop | None:
    """The accuracy side of a trial into ``rec``; a :class:`Stop` when the ledger's pruner
    stopped its setting; RuntimeError (the reason in ``rec``) when the evaluation failed."""
    from codesign import evaluators

    cfg = plan.loaded.config
    assert rec.metrics is not None and rec.constraints is not None and rec.run is not None
    costs = {objective_key(o): rec.metrics[o.name] * (1 if direction(o) == "minimize" else -1)
             for o in cfg.objectives if not METRICS[o.name].needs_accuracy}
    if plan.ledger is not None:
        from codesign.study.training import accuracy_outcome

        outcome = accuracy_outcome(plan.ledger, point, plan.cache_dir, plan.proxy_at,
                                   progress=plan.progress, costs=costs, screen=screen)
    else:
        outcome = evaluators.accuracy_outcome(point, plan.cache_dir, progress=plan.progress)
    result, training = outcome.result, outcome.training
    rec.run.accuracy_cache_hit, rec.run.training = outcome.cache_hit, training
    if training is not None and training.pruned:
        # the hardware figures, the accuracy it had at its last checkpoint (what the figures
        # plot for it), the step, the reason
        rec.partial = {objective_key(o): training.proxy for o in cfg.objectives
                       if METRICS[o.name].needs_accuracy}
        rec.reason = result.reason or f"pruned at step {training.pruned_at}"
        return Stop(result.reason)
    if not result.ok:
        rec.reason = result.reason or "accuracy failed"
        raise RuntimeError(rec.reason)
    after, before = series_with_draws(result.to_dict())
    rec.metrics.update(evaluators.accuracy_metrics(after, before, plan.wanted))
    for r in plan.loaded.rules:
        if METRICS[r.base].needs_accuracy:
            rec.constraints[str(r)] = r.violation(rec.metrics[r.metric])
    rec.drift = Drift(result.digital, before, after)
    rec.accuracy_metric = result.metric
    return None
