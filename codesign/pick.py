"""Choosing one configuration from a study's front under requirements (pure functions).

Candidates are the feasible Pareto-front trials that meet every requirement. Without a preference
the knee point is chosen: the candidate closest to the utopia point once each objective is scaled to
[0, 1] over the candidates (0 = best). With ``prefer`` the best candidate in that column wins (in
its objective's direction, else in its metric's natural one from :data:`codesign.metrics.METRICS`),
the knee distance breaking ties. When no trial meets the requirements, the closest trials (smallest
summed relative violation) are reported instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from codesign.metrics import Rule, metric_of
from codesign.table import feasible_mask


@dataclass
class Pick:
    chosen: pd.Series | None
    why: str
    candidates: pd.DataFrame
    closest: pd.DataFrame = field(default_factory=pd.DataFrame)


def knee_distance(frame: pd.DataFrame, objectives: Sequence[tuple[str, str]]) -> pd.Series:
    """Euclidean distance to the utopia point with each objective min-max scaled (0 = best)."""
    total = pd.Series(0.0, index=frame.index)
    for col, direction in objectives:
        values = frame[col].astype(float)
        lo, hi = values.min(), values.max()
        span = hi - lo
        scaled = (values - lo) / span if span > 0 else values * 0.0
        if direction == "maximize":
            scaled = 1.0 - scaled if span > 0 else scaled
        total = total + scaled ** 2
    return total.pow(0.5)


def violation(frame: pd.DataFrame, rules: list[Rule]) -> pd.Series:
    """Summed violation of the rules, each relative to the size of its bound."""
    total = pd.Series(0.0, index=frame.index)
    for r in rules:
        values = frame[r.metric].astype(float)
        scale = abs(r.bound) if r.bound else 1.0
        v = values.map(lambda x, r=r: max(0.0, r.violation(x)) if not math.isnan(x) else math.inf)
        strict = values.map(lambda x, r=r: 0.0 if r.holds(x) else 1e-12)
        total = total + v / scale + strict
    return total


def pick(front: pd.DataFrame, table: pd.DataFrame, rules: list[Rule],
         objectives: Sequence[tuple[str, str]], prefer: str | None = None) -> Pick:
    """Choose among the feasible front trials of ``front``; ``table`` (all trials) for fallbacks."""
    feasible = front[feasible_mask(front)] if not front.empty else front
    if not feasible.empty and rules:
        ok = pd.Series(True, index=feasible.index)
        for r in rules:
            ok &= feasible[r.metric].astype(float).map(r.holds)
        candidates = feasible[ok]
    else:
        candidates = feasible
    if candidates.empty:
        done = table[table["state"] == "COMPLETE"]
        if "superseded_by" in done:      # a screened trial measured again in full: only the latter
            done = done[done["superseded_by"].isna()]
        if done.empty:
            return Pick(None, "the study has no complete trial", candidates)
        closest = done.assign(violation=violation(done, rules)).nsmallest(5, "violation")
        return Pick(None, "no feasible front trial meets " + " and ".join(map(str, rules)),
                    candidates, closest)
    dist = knee_distance(candidates, objectives)
    ranked = candidates.assign(knee_distance=dist)
    if prefer:
        # an objective's own direction, else the metric's natural one
        direction = dict(objectives).get(prefer) or metric_of(prefer).direction
        ranked = ranked.sort_values([prefer, "knee_distance"],
                                    ascending=[direction == "minimize", True])
        why = f"best {prefer} ({direction}) among {len(candidates)} candidate(s)"
    else:
        ranked = ranked.sort_values(["knee_distance", "number"])
        why = (f"knee point: closest to the ideal of every objective (scaled 0..1) among "
               f"{len(candidates)} candidate(s)")
    if rules:
        why += " meeting " + " and ".join(map(str, rules))
    return Pick(ranked.iloc[0], why, ranked)
