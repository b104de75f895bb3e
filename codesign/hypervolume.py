"""Hypervolume of a Pareto front, and each point's share of it: pure functions over arrays.

Every objective is to be minimised (multiply a maximised one by -1 first). The figures' history
of the front (:mod:`codesign.figures.data`), the search benchmarks and the promotions of
screened trials (:mod:`codesign.study.promotion`) use these.
"""

from __future__ import annotations

import numpy as np


def hypervolume(front: np.ndarray, reference: np.ndarray) -> float:
    """Exact hypervolume of mutually non-dominated points (every objective minimised) up to
    ``reference``: Optuna's WFG algorithm. The project's one use of Optuna's private
    ``optuna._hypervolume`` (Optuna has no public equivalent), checked against boxes computed by
    hand in tests/test_plots.py."""
    from optuna._hypervolume import compute_hypervolume

    return float(compute_hypervolume(front, reference, assume_pareto=True))


def non_dominated(points: np.ndarray) -> np.ndarray:
    """Which rows of ``points`` no other row dominates (equal rows do not dominate each other)."""
    return np.array([not ((points <= p).all(axis=1) & (points < p).any(axis=1)).any()
                     for p in points], dtype=bool)


def exclusive_shares(points: np.ndarray, reference: float = 1.1) -> np.ndarray:
    """Each row's exclusive share of the hypervolume of ``points``: how much of it would be lost
    without that row (and its duplicates), over the whole; 0 for a dominated row. Each objective
    is scaled to 0..1 over the rows (0: the best), the reference point ``reference`` in each, as
    in the figures' hypervolume history."""
    points = np.asarray(points, dtype=float)
    out = np.zeros(len(points))
    if len(points) == 0:
        return out
    lo, hi = points.min(axis=0), points.max(axis=0)
    scaled = (points - lo) / np.where(hi > lo, hi - lo, 1.0)
    ref = np.full(points.shape[1], reference)
    front = np.unique(scaled[non_dominated(scaled)], axis=0)
    whole = hypervolume(front, ref)
    for row in front:
        mine = (scaled == row).all(axis=1)
        rest = scaled[~mine]                   # what the row dominated alone comes back
        rest = np.unique(rest[non_dominated(rest)], axis=0) if len(rest) else rest
        lost = whole - (hypervolume(rest, ref) if len(rest) else 0.0)
        out[mine] = lost / whole if whole > 0 else 0.0
    return out
