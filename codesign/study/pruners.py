"""Pruning: the ledger's pruners, the checkpoints a training reports to them, and the one place a
trial is pruned.

A training reports its adapters' accuracy at each checkpoint through a
:class:`codesign.accuracy.engine.Checkpoints` (here :class:`TrialCheckpoints`, over the ledger
trial that claimed the setting), which answers whether to stop. A stopped training ends its
ledger trial, and the main study's trial that needed it, through :func:`prune`: the only place
codesign raises Optuna's ``TrialPruned``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn, Optional

from optuna.pruners import BasePruner

from codesign.config.search import SearchSettings


#: the ledger claim's attribute holding the claiming trial's other objectives
COSTS = "costs"


@dataclass(frozen=True)
class Stop:
    """Why a trial is to be pruned (one line, recorded by Optuna with the trial)."""

    reason: Optional[str] = None


def prune(stop: Stop) -> NoReturn:
    """End the running trial as pruned: Optuna records it PRUNED with the last value it reported."""
    import optuna

    raise optuna.TrialPruned(stop.reason)


class TrialCheckpoints:
    """The checkpoints of a training that claimed ledger trial ``trial``: each value is reported
    to the trial and the ledger's pruner decides; it is obeyed once at least ``min_settings``
    other settings reached that checkpoint (``reached(step)``: how many did)."""

    def __init__(self, trial, reached, min_settings: int):
        self.trial, self.reached, self.min_settings = trial, reached, min_settings
        self.stopped_at: Optional[int] = None       # the step it stopped at, and its value
        self.stopped_value: Optional[float] = None

    def report(self, step: int, value: float) -> bool:
        self.trial.report(value, step)
        stop = self.trial.should_prune()        # also files the value with the pruner
        if stop and self.reached(step) >= self.min_settings:
            self.stopped_at, self.stopped_value = step, value
            return True
        return False


def costs_of(trial) -> Optional[dict[str, float]]:
    """The other objectives (each to be minimised) of the trial that claimed a setting: what the
    training ledger's claim carries for :class:`DominatedPruner`
    (:meth:`codesign.study.ledger.Ledger.train`)."""
    return trial.user_attrs.get(COSTS)


class DominatedPruner(BasePruner):
    """Prune a setting whose accuracy at a checkpoint is beaten by another setting's at the same
    checkpoint that is no worse in any other objective of the study (latency, energy...: the
    hardware figures of the trial that claimed it, in the ledger trial's ``costs``). The
    multi-objective rule: a cheap setting of low accuracy may still be on the front and is kept,
    where a single-objective pruner would stop it."""

    def prune(self, study, trial) -> bool:
        step = trial.last_step
        costs = costs_of(trial)
        if step is None or costs is None:
            return False
        value = trial.intermediate_values[step]
        better = (lambda a, b: a > b) if study.direction.name == "MAXIMIZE" else (
            lambda a, b: a < b)
        for other in study.get_trials(deepcopy=False):
            theirs = costs_of(other)
            if (other.number == trial.number or step not in other.intermediate_values
                    or theirs is None or set(theirs) != set(costs)):
                continue
            if better(other.intermediate_values[step], value) and all(
                    theirs[k] <= costs[k] for k in costs):
                return True
        return False


def make_pruner(search: SearchSettings, rungs: tuple[int, ...], steps: int):
    """The Optuna pruner of ``search.pruner`` for trainings of ``steps`` steps, checkpoints at
    ``rungs`` (the halving pruners' first rung is the first checkpoint)."""
    import optuna

    first = rungs[0] if rungs else max(1, steps // 4)
    if search.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=0, n_warmup_steps=0)
    if search.pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=first, reduction_factor=search.reduction_factor)
    if search.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=first, max_resource=steps, reduction_factor=search.reduction_factor)
    if search.pruner == "dominated":
        return DominatedPruner()
    return optuna.pruners.NopPruner()
