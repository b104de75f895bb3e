"""Promotions: screened points that reach the front, measured again with their setting trained further.

With ``search.screen_steps`` the training ledger screens a new noise (converter bits and
integration time not yet trained at a placement) and, with ``search.screen_placements``, a new
placement: a warm start across noises (or from a placement containing the new one's layers) for
a few steps instead of a training from scratch (:mod:`codesign.study.ledger`). A screen costs
little and ends below a full training, so it only says whether the setting is worth training.
After each trial, every complete screened trial that is on the study's Pareto front (and holds
at least ``search.promote_share`` of its hypervolume alone), or whose setting has since been
trained, is queued again with the same parameters (user attribute ``promotes``: the trial it
measures again); the ledger trains its setting (an ordinary warm start when its warm-start
family holds a trained adapter; else from the screen's start for ``search.promote_steps`` of
the steps, or from scratch in full when that is 1) and the new trial's measurement
*supersedes* the screened one: it leaves the front (:func:`front`) and the results' tables say
by which trial. Promotions, like siblings, do not count towards ``n_trials``.

:func:`to_promote` is pure: which trials to promote, from the study's records and the trials
worth it (:func:`worth_promoting`: on the front, with their share of its hypervolume). With
``search.promote_optimism`` a screened trial is judged at its accuracy plus the screen loss the
study has measured on its own promotions (:func:`screen_loss`), so that a noise whose screen
happened to lose more than usual can still reach the front; with ``search.optimism_by:
change`` each screened trial at the loss expected of what its screen changed (its
``expected_loss``, :func:`codesign.study.warm.screen_loss`) scaled by what the study's own
promotions lost against what was expected of them (:func:`screen_losses`).
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
    return {t.number for t in _pareto(_alive(trials, [of(t) for t in trials]), directions)}


def _measured(recs: list[TrialRecord], minimise: list[bool]) -> list[tuple[TrialRecord,
                                                                           list[float]]]:
    """Each complete promotion of a screened trial: (the screened trial's record, what the
    promotion gained on it per objective; positive: the full training is better)."""
    by_number = {r.number: r for r in recs}
    out = []
    for r in recs:
        screened = by_number.get(r.promotes) if r.promotes is not None else None
        if r.state == "COMPLETE" and r.values and screened is not None and screened.values:
            out.append((screened, [(s - f) if low else (f - s)
                                   for s, f, low in zip(screened.values, r.values, minimise)]))
    return out


def screen_loss(recs: list[TrialRecord], minimise: list[bool]) -> list[float]:
    """What a screen costs each objective, as the study measured it: the median, over its
    complete promotions, of the promoted value's improvement on the screened one (positive:
    the full training is better; ``minimise``: each objective's direction); 0 before any."""
    import statistics

    gains = [gain for _, gain in _measured(recs, minimise)]
    if not gains:
        return [0.0] * len(minimise)
    return [statistics.median(g[i] for g in gains) for i in range(len(minimise))]


def screen_losses(recs: list[TrialRecord], minimise: list[bool],
                  by: str = "study") -> dict[int, list[float]]:
    """What each complete screened trial is judged to have lost (trial number -> the loss per
    objective, positive: a full training would do better). ``by="study"``: the study's
    :func:`screen_loss` for every one. ``by="change"``: its own ``expected_loss`` (accuracy
    points expected of what its screen changed) times the study's scale, the median over its
    promotions of measured loss / expected loss (per objective: 0 for those a screen leaves
    alone); a screen without ``expected_loss``, or a study whose promotions have none yet,
    falls back to ``by="study"``."""
    import statistics

    screened = [r for r in recs if r.state == "COMPLETE" and r.training is not None
                and r.training.screened]
    overall = screen_loss(recs, minimise)
    if by == "study":
        return {r.number: overall for r in screened}
    ratios = [[g / s.training.expected_loss for g in gain] for s, gain in _measured(recs, minimise)
              if s.training is not None and s.training.expected_loss]
    if not ratios:
        return {r.number: overall for r in screened}
    scale = [statistics.median(x[i] for x in ratios) for i in range(len(minimise))]
    return {r.number: ([k * r.training.expected_loss for k in scale]
                       if r.training is not None and r.training.expected_loss is not None
                       else overall) for r in screened}


def worth_promoting(trials: list, directions: list, min_share: float = 0.0,
                    optimism: bool = False, by: str = "study") -> set[int]:
    """The numbers of the trials on the :func:`front` whose own share of its hypervolume
    (:func:`codesign.hypervolume.exclusive_shares`: what it would lose without them, the points
    they dominate coming back; each objective scaled over the feasible trials) is at least
    ``min_share``; with ``optimism``, screened trials count at their values improved by
    :func:`screen_losses` (``by``: ``search.optimism_by``)."""
    return _worth(trials, [of(t) for t in trials], directions, min_share, optimism, by)


def _worth(trials: list, recs: list[TrialRecord], directions: list, min_share: float,
           optimism: bool, by: str = "study") -> set[int]:
    """:func:`worth_promoting` with the trials' records (``recs``, in the same order) read once."""
    import numpy as np
    from optuna.study._multi_objective import _get_feasible_trials

    from codesign.hypervolume import exclusive_shares, non_dominated

    alive = _alive(trials, recs)
    if not optimism and (not min_share or len(directions) < 2):
        return {t.number for t in _pareto(alive, directions)}
    feasible = _get_feasible_trials(alive)
    if not feasible:
        return set()
    minimise = [d.name == "MINIMIZE" for d in directions]
    signs = np.array([1.0 if low else -1.0 for low in minimise])
    losses = np.array([t.values for t in feasible], dtype=float) * signs
    if optimism:
        judged = screen_losses(recs, minimise, by)
        for row, t in enumerate(feasible):
            if t.number in judged:
                losses[row] -= np.array(judged[t.number])
    on = non_dominated(losses)
    if min_share and len(directions) >= 2:
        on &= exclusive_shares(losses) >= min_share
    return {t.number for t, keep in zip(feasible, on) if keep}


def _alive(trials: list, recs: list[TrialRecord]) -> list:
    """The complete trials no promotion superseded (``recs``: their records)."""
    gone = superseded(recs)
    return [t for t in trials if t.state.name == "COMPLETE" and t.number not in gone]


def _pareto(trials: list, directions: list) -> list:
    from optuna.study._multi_objective import _get_pareto_front_trials_by_trials

    return _get_pareto_front_trials_by_trials(trials, directions, consider_constraint=True)


def queue_promotions(study, min_share: float = 0.0, optimism: bool = False,
                     by: str = "study") -> list[int]:
    """Queue the promotions :func:`to_promote` asks for in ``study`` (``min_share``:
    ``search.promote_share``; ``optimism``: ``search.promote_optimism``; ``by``:
    ``search.optimism_by``); returns the screened trials' numbers."""
    trials = study.get_trials(deepcopy=False)
    recs = [of(t) for t in trials]
    numbers = to_promote(recs, _worth(trials, recs, study.directions, min_share, optimism, by))
    by_number = {t.number: t for t in trials}
    for n in numbers:
        enqueue_promotion(study, dict(by_number[n].params), n)
    return numbers
