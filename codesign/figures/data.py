"""What each study figure shows, computed from the results table and the trials (no drawing).

Every function here is pure: it takes a results table (``codesign.results.trials_table``), the
front (``pareto_table``) or Optuna trials and returns a small dataclass that
:mod:`codesign.figures.draw` turns into a matplotlib figure. Tests check these numbers directly.
Same split as optuna.visualization (``_get_pareto_front_info`` then ``_get_pareto_front_plot``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np
import pandas as pd

from codesign.metric_key import keys_of
from codesign.plain import plain
from codesign.table import complete, feasible_mask
from codesign.hypervolume import hypervolume

if TYPE_CHECKING:
    from codesign.study.record import TrialRecord

#: parameters the front is coloured by, in order of preference (the first one the study varies)
COLOR_PARAMS = ("rank", "adc_bits", "placement", "integration_ns", "tokens", "dac_bits")
#: at most this many front configurations get their own drift curve
MAX_DRIFT_SERIES = 8


# --------------------------------------------------------------------------- helpers


def objective_label(column: str, direction: str, unit: str) -> str:
    better = "lower" if direction == "minimize" else "higher"
    unit = f" [{unit}]" if unit and unit not in ("metric",) else ""
    return f"{column}{unit} ({better} is better)"


def value_text(value: Any) -> str:
    """A parameter value as a short label: 8, 256, all, 0.5."""
    value = plain(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def short_number(value: float) -> str:
    """Compact axis text: 128, 0.853, 35.1k, 3.26M."""
    value = float(value)
    if abs(value) >= 1e4:
        value = float(f"{value:.3g}")  # 999999 -> 1e6 -> "1M", not "1e+03k"
    for limit, scale, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if abs(value) >= limit:
            return f"{value / scale:.3g}{suffix}"
    return value_text(float(f"{value:.4g}"))


def choose_color_param(table: pd.DataFrame, front: pd.DataFrame | None = None) -> str | None:
    """The parameter that colours the front: rank, else ADC bits, else another varied knob."""
    source = front if front is not None and not front.empty else table
    for name in COLOR_PARAMS:
        if name in source.columns and source[name].dropna().nunique() > 1:
            return name
    for name in COLOR_PARAMS:
        if name in table.columns and table[name].dropna().nunique() > 1:
            return name
    return None


def _sort_key(value: Any):
    value = plain(value)
    return (0, float(value), "") if isinstance(value, (int, float, bool)) else (1, 0.0, str(value))


# --------------------------------------------------------------------------- Pareto fronts


@dataclass
class PanelData:
    """One 2-D panel: dominated trials grey, infeasible trials marked, the front coloured.

    Points are (x, y, trial number); front points carry a fourth item, the colour value (the
    ``color_by`` parameter of that trial, or None).
    """

    x: str
    y: str
    x_label: str
    y_label: str
    others: list[tuple[float, float, int]] = field(default_factory=list)
    infeasible: list[tuple[float, float, int]] = field(default_factory=list)
    #: settings the training ledger's pruner stopped, at the accuracy of their last checkpoint
    pruned: list[tuple[float, float, int]] = field(default_factory=list)
    front: list[tuple[float, float, int, Any]] = field(default_factory=list)
    #: the staircase through the front, drawn for a two-objective study only (a projection of a
    #: higher-dimensional front is no staircase)
    front_line: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class ParetoData:
    panels: list[PanelData]
    title: str
    color_by: str | None = None
    #: the distinct colour values on the front, sorted (one legend entry each)
    color_values: list[Any] = field(default_factory=list)


def pareto_data(table: pd.DataFrame, front: pd.DataFrame, objectives: Sequence[tuple[str, str, str]],
                color_by: str | None = "auto") -> ParetoData:
    """Panels for every pair of objectives (one panel for two, three for three objectives).

    ``objectives`` holds (column, direction, unit). A single objective is plotted against the trial
    number. ``color_by`` names the parameter that colours the front ("auto": rank, else ADC bits,
    else another knob the study varies; None: one colour).
    """
    done = complete(table)
    done = done.dropna(subset=[o[0] for o in objectives]) if not done.empty else done
    cols = [o[0] for o in objectives]
    labels = {c: objective_label(c, d, u) for c, d, u in objectives}
    if len(objectives) == 1:
        done = done.assign(trial=done["number"])
        labels["trial"] = "trial"
        pairs = [("trial", cols[0])]
    else:
        pairs = list(itertools.combinations(cols, 2))
    if color_by == "auto":
        color_by = choose_color_param(done, front)
    if color_by is not None and color_by not in done.columns:
        color_by = None
    front_numbers = set(int(n) for n in front["number"]) if not front.empty else set()
    panels = []
    feasible = feasible_mask(done)
    for x, y in pairs:
        panel = PanelData(x, y, labels[x], labels[y])
        for index, row in done.iterrows():
            number = int(row["number"])
            point = (float(row[x]), float(row[y]), number)
            if number in front_numbers:
                panel.front.append((*point, plain(row[color_by]) if color_by else None))
            elif not feasible[index]:
                panel.infeasible.append(point)
            else:
                panel.others.append(point)
        if "state" in table.columns and x in table.columns:
            stopped = table[table["state"] == "PRUNED"].dropna(subset=[x, y])
            panel.pruned = [(float(r[x]), float(r[y]), int(r["number"]))
                            for _, r in stopped.iterrows()]
        if len(objectives) == 2:
            panel.front_line = staircase([(p[0], p[1]) for p in panel.front],
                                         *[dict((c, d) for c, d, _ in objectives)[a] for a in (x, y)])
        panels.append(panel)
    values = sorted({p[3] for p in panels[0].front if p[3] is not None}, key=_sort_key) if (
        panels and color_by) else []
    n_feasible = int(feasible_mask(done).sum()) if not done.empty else 0
    title = (f"{len(done)} complete trials ({n_feasible} feasible), "
             f"{len(front_numbers)} on the Pareto front")
    return ParetoData(panels, title, color_by, values)


def staircase(points: list[tuple[float, float]], x_dir: str, y_dir: str) -> list[tuple[float, float]]:
    """The attainment line of a 2-D front: the front sorted by x with steps between points."""
    if not points:
        return []
    pts = sorted(points, key=lambda p: (p[0], p[1] if y_dir == "minimize" else -p[1]))
    if x_dir == "maximize":
        pts = pts[::-1]
    line = [pts[0]]
    for p in pts[1:]:
        line.append((p[0], line[-1][1]))
        line.append(p)
    return line


# --------------------------------------------------------------------------- hypervolume


@dataclass
class HypervolumeData:
    """Hypervolume of the feasible front after each complete trial.

    Objectives are scaled to [0, 1] over the feasible complete trials (0 = the best value seen,
    1 = the worst) so the numbers are comparable across units; the reference point is
    ``reference`` (1.1) in every scaled objective, so the largest possible value is 1.1 ** k.
    """

    numbers: list[int]
    values: list[float]
    objectives: list[str]
    reference: float = 1.1
    ideal: list[float] = field(default_factory=list)
    nadir: list[float] = field(default_factory=list)

    @property
    def maximum(self) -> float:
        return self.reference ** len(self.objectives)


def hypervolume_history(table: pd.DataFrame, objectives: Sequence[tuple[str, str, str]],
                        reference: float = 1.1) -> HypervolumeData | None:
    """Hypervolume (Optuna's exact WFG computation) of the front of the trials so far.

    None for a single objective or when no complete feasible trial exists.
    """
    cols = [o[0] for o in objectives]
    if len(cols) < 2:
        return None
    done = complete(table).sort_values("number") if not table.empty else table
    if done.empty:
        return None
    done = done.dropna(subset=cols)
    ok = feasible_mask(done)
    feasible = done[ok]
    if feasible.empty:
        return None
    signs = np.array([1.0 if d == "minimize" else -1.0 for _, d, _ in objectives])
    values = feasible[cols].to_numpy(dtype=float) * signs
    lo, hi = values.min(axis=0), values.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    ref = np.full(len(cols), reference)
    numbers, history = [], []
    kept = np.empty((0, len(cols)))
    hv = 0.0
    for (_, row), good in zip(done.iterrows(), ok):
        numbers.append(int(row["number"]))
        if good:
            point = (row[cols].to_numpy(dtype=float) * signs - lo) / span
            if not (kept <= point).all(axis=1).any():  # not dominated by (or equal to) the front
                kept = np.vstack([kept[~(point <= kept).all(axis=1)], point])
                hv = hypervolume(kept, ref)
        history.append(hv)
    return HypervolumeData(numbers, history, cols, reference, list(lo * signs), list(hi * signs))


# --------------------------------------------------------------------------- parallel coordinates


@dataclass
class ParallelAxis:
    name: str
    #: each trial's position on this axis, 0..1 (in ``ParallelData.numbers`` order)
    positions: list[float]
    #: (position, label) ticks: every category, or the range of a numeric axis
    ticks: list[tuple[float, str]]
    categorical: bool = False
    is_objective: bool = False
    direction: str = ""  # an objective's "minimize" / "maximize"


@dataclass
class ParallelData:
    axes: list[ParallelAxis]
    numbers: list[int]
    on_front: list[bool]
    color_by: str | None = None
    #: the colour value of each trial (None when not coloured)
    colors: list[Any] = field(default_factory=list)
    color_values: list[Any] = field(default_factory=list)


def parallel_data(table: pd.DataFrame, front: pd.DataFrame, params: Sequence[str],
                  objectives: Sequence[tuple[str, str, str]], color_by: str | None = "auto"
                  ) -> ParallelData | None:
    """Parameters then objectives as vertical axes, one polyline per complete trial.

    Numeric axes are scaled min..max (ticks: every value when there are at most 8, else min and
    max); categorical axes (placement names, booleans) place their categories evenly.
    """
    done = complete(table)
    cols = [p for p in params if p in done.columns] + [o[0] for o in objectives]
    if done.empty:
        return None
    done = done.dropna(subset=[o[0] for o in objectives]).sort_values("number")
    if done.empty:
        return None
    if color_by == "auto":
        color_by = choose_color_param(done, front)
    objective_cols = {o[0]: o[1] for o in objectives}
    axes = []
    for col in cols:
        series = done[col]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        if numeric:
            values = series.astype(float)
            lo, hi = float(values.min()), float(values.max())
            pos = [0.5 if hi == lo else (v - lo) / (hi - lo) for v in values]
            distinct = sorted(values.unique())
            shown = distinct if len(distinct) <= 8 else [lo, hi]
            ticks = [(0.5 if hi == lo else (v - lo) / (hi - lo), short_number(v)) for v in shown]
            axes.append(ParallelAxis(col, pos, ticks, False, col in objective_cols,
                                     objective_cols.get(col, "")))
        else:
            cats = sorted({plain(v) for v in series}, key=_sort_key)
            where = {c: (0.5 if len(cats) == 1 else i / (len(cats) - 1)) for i, c in enumerate(cats)}
            axes.append(ParallelAxis(col, [where[plain(v)] for v in series],
                                     [(where[c], value_text(c)) for c in cats], True,
                                     col in objective_cols, objective_cols.get(col, "")))
    front_numbers = set(int(n) for n in front["number"]) if not front.empty else set()
    numbers = [int(n) for n in done["number"]]
    colors = [plain(v) for v in done[color_by]] if color_by in done.columns else []
    color_values = sorted(set(colors), key=_sort_key) if colors else []
    return ParallelData(axes, numbers, [n in front_numbers for n in numbers],
                        color_by if colors else None, colors, color_values)


# --------------------------------------------------------------------------- accuracy vs drift


@dataclass
class DriftSeries:
    """Accuracy of one configuration (or several with identical results) against drift time."""

    label: str
    numbers: list[int]
    mean: list[float]
    std: list[float]
    before_mean: list[float] = field(default_factory=list)
    before_std: list[float] = field(default_factory=list)


@dataclass
class DriftData:
    times: list[str]            # drift-time labels, in time order ("0s", "1h", ..., "10y")
    seconds: list[float]
    series: list[DriftSeries]
    digital: list[float] | None = None
    metric: str = "accuracy"
    omitted: int = 0            # front configurations left out (more than MAX_DRIFT_SERIES)


def drift_seconds(label: str) -> float:
    from codesign.accuracy.settings import drift_seconds as seconds

    return seconds(label)


def drift_data(trials: Iterable[TrialRecord], front_numbers: Iterable[int],
               label_params: Sequence[str] = (),
               max_series: int = MAX_DRIFT_SERIES) -> DriftData | None:
    """Mean and std (over noise draws) of the accuracy after training, per front configuration.

    ``trials`` are trial records (:func:`codesign.study.record.records`) whose ``drift`` holds
    each series as {time: {mean, std}}. Front trials with identical series (same adapters,
    other latency knobs) share one curve. None when no front trial has a drift series.
    """
    wanted = set(int(n) for n in front_numbers)
    groups: dict[tuple, DriftSeries] = {}
    members: dict[tuple, list[dict]] = {}
    times: list[str] | None = None
    digital = None
    metric = "accuracy"
    for t in sorted(trials, key=lambda t: t.number):
        drift = t.drift if t.number in wanted else None
        after = drift.analog_after if drift is not None else None
        if not after:
            continue
        assert drift is not None
        if times is None:
            times = sorted(after, key=drift_seconds)
        metric = t.accuracy_metric or metric
        before = drift.analog_before or {}
        if digital is None and drift.digital:
            digital = [float(drift.digital[k]["mean"]) if k in drift.digital else math.nan
                       for k in times]
        mean = [float(after[k]["mean"]) if k in after else math.nan for k in times]
        std = [float(after[k].get("std", 0.0)) if k in after else math.nan for k in times]
        key = tuple(round(v, 12) for v in mean + std)
        if key in groups:
            groups[key].numbers.append(t.number)
            members[key].append(t.params)
            continue
        members[key] = [t.params]
        groups[key] = DriftSeries(
            "", [t.number], mean, std,
            [float(before[k]["mean"]) if k in before else math.nan for k in times],
            [float(before[k].get("std", 0.0)) if k in before else math.nan for k in times])
    if times is None:
        return None
    for key, s in groups.items():
        # label with the knobs every trial of the curve shares (not a latency-only knob of one)
        knobs = ", ".join(f"{p}={value_text(members[key][0][p])}" for p in label_params
                          if all(p in m and m[p] == members[key][0][p] for m in members[key]))
        head = "#" + ", #".join(map(str, s.numbers[:3])) + (" ..." if len(s.numbers) > 3 else "")
        s.label = f"{head} ({knobs})" if knobs else head
    series = list(groups.values())
    omitted = 0
    if len(series) > max_series:  # keep an even spread over the final accuracy
        order = sorted(series, key=lambda s: s.mean[-1])
        idx = sorted(set(np.linspace(0, len(order) - 1, max_series).round().astype(int)))
        omitted = len(series) - len(idx)
        series = [order[i] for i in idx]
    return DriftData(times, [drift_seconds(k) for k in times], series, digital, metric, omitted)


# --------------------------------------------------------------------------- rank sweep (fig. 2a)


@dataclass
class RankSweepData:
    """Accuracy against LoRA rank at each drift time (the paper's fig. 2a, from the trials).

    For each rank: the best accuracy any complete trial with that rank reached (``best``) and the
    range over those trials (``low``..``high``; other knobs such as placement or ADC bits vary).
    """

    ranks: list[float]
    times: list[str]
    best: dict[str, list[float]]
    low: dict[str, list[float]]
    counts: list[int]
    metric: str = "accuracy"


def rank_sweep_data(table: pd.DataFrame, metric: str = "accuracy") -> RankSweepData | None:
    """None when the study does not vary the rank or recorded no ``accuracy@<time>`` column."""
    done = complete(table)
    if done.empty or "rank" not in done.columns or done["rank"].dropna().nunique() < 2:
        return None
    keys = sorted((k for k in keys_of(done.columns) if k.name == "accuracy" and k.quantile is None
                   and k.seconds is not None and done[str(k)].notna().any()),
                  key=lambda k: k.seconds or 0.0)
    if not keys:
        return None
    times = [str(k.horizon) for k in keys]
    cols = [str(k) for k in keys]
    done = done.dropna(subset=cols, how="all")
    groups = done.groupby("rank")
    ranks = sorted(float(r) for r in groups.groups)
    best: dict[str, list[float]] = {k: [] for k in times}
    low: dict[str, list[float]] = {k: [] for k in times}
    counts = []
    for r in ranks:
        g = done[done["rank"].astype(float) == r]
        counts.append(len(g))
        for k, c in zip(times, cols):
            best[k].append(float(g[c].max()))
            low[k].append(float(g[c].min()))
    return RankSweepData(ranks, times, best, low, counts, metric)
