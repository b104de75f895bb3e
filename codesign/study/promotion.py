"""Promotions: screened points that reach the front, measured again with their setting trained in full.

With ``search.screen_steps`` the training ledger screens a new noise (converter bits and
integration time not yet trained at a placement): a warm start across noises for a few steps
instead of a training from scratch (:mod:`codesign.study.ledger`). A screen costs little and
ends below a full training, so it only says whether the noise is worth training. After each
trial, every complete screened trial that is on the study's Pareto front (and holds at least
``search.promote_share`` of its hypervolume alone), or whose setting has since been trained in
full, is queued again with the same parameters (user attribute
``promotes``: the trial it measures again); the ledger trains its setting in full (from scratch,
or as an ordinary warm start from a full training of the same noise) and the new trial's
measurement *supersedes* the screened one: it leaves the front (:func:`front`) and the results'
tables say by which trial. Promotions, like siblings, do not count towards ``n_trials``.

:func:`to_promote` is pure: which trials to promote, from the study's records and the trials
worth it (:func:`worth_promoting`: on the front, with their share of its hypervolume).
"""

from __future__ import annotations

from typing import Iterable

from codesign.study.record import TrialRecord, enqueue_promotion, of, superseded


def to_promote(recs: list[TrialRecord], worth: Iterable[int]) -> list[int]:
    """The numbers of the complete screened trials, not promoted or queued for promotion yet,
    that are ``worth`` it (trial numbers: on the front) or whose setting a complete trial holds
    trained in full (its other points follow it)."""
    on_front = set(worth)
    queued = {r.promotes for r in recs if r.promotes is not None and r.state != "FAIL"}
    full = {r.training.setting for r in recs
            if r.state == "COMPLETE" and r.training is not None and not r.training.screened}
    return [r.number for r in recs
            if r.state == "COMPLETE" and r.training is not None and r.training.screened
            and r.number not in queued and (r.number in on_front or r.training.setting in full)]


def front(trials: list, directions: list) -> set[int]:
    """The numbers of the trials on the feasible Pareto front of complete ``trials`` (Optuna
    ``FrozenTrial``) once the superseded ones are left out (as ``Study.best_trials`` would
    compute it without them)."""
    return {t.number for t in _pareto(_alive(trials), directions)}


def worth_promoting(trials: list, directions: list, min_share: float = 0.0) -> set[int]:
    """The numbers of the trials on the :func:`front` whose own share of its hypervolume
    (:func:`codesign.hypervolume.exclusive_shares`: what it would lose without them, the points
    they dominate coming back; each objective scaled over the feasible trials) is at least
    ``min_share``."""
    import numpy as np
    from optuna.study._multi_objective import _get_feasible_trials

    from codesign.hypervolume import exclusive_shares

    alive = _alive(trials)
    on = {t.number for t in _pareto(alive, directions)}
    if not min_share or len(directions) < 2 or not on:
        return on
    feasible = _get_feasible_trials(alive)
    signs = np.array([1.0 if d.name == "MINIMIZE" else -1.0 for d in directions])
    shares = exclusive_shares(np.array([t.values for t in feasible]) * signs)
    return {t.number for t, share in zip(feasible, shares) if t.number in on and share >= min_share}


def _alive(trials: list) -> list:
    """The complete trials no promotion superseded."""
    gone = superseded([of(t) for t in trials])
    return [t for t in trials if t.state.name == "COMPLETE" and t.number not in gone]


def _pareto(trials: list, directions: list) -> list:
    from optuna.study._multi_objective import _get_pareto_front_trials_by_trials

    return _get_pareto_front_trials_by_trials(trials, directions, consider_constraint=True)


def queue_promotions(study, min_share: float = 0.0) -> list[int]:
    """Queue the promotions :func:`to_promote` asks for in ``study`` (``min_share``:
    ``search.promote_share``); returns the screened trials' numbers."""
    trials = study.get_trials(deepcopy=False)
    numbers = to_promote([of(t) for t in trials],
                         worth_promoting(trials, study.directions, min_share))
    by_number = {t.number: t for t in trials}
    for n in numbers:
        enqueue_promotion(study, dict(by_number[n].params), n)
    return numbers
