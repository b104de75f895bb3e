"""Plots of a study: data first (pure functions over the results table), drawing second.

Same split as optuna.visualization._pareto_front: ``pareto_data`` decides what is shown,
``save_pareto`` only draws it with matplotlib (Agg backend, no display needed).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class PanelData:
    """One 2-D panel: all feasible trials grey, the front coloured, infeasible trials marked."""

    x: str
    y: str
    x_label: str
    y_label: str
    others: list[tuple[float, float]] = field(default_factory=list)
    infeasible: list[tuple[float, float]] = field(default_factory=list)
    front: list[tuple[float, float, int]] = field(default_factory=list)  # (x, y, trial number)
    front_line: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class ParetoData:
    panels: list[PanelData]
    title: str


def pareto_data(table: pd.DataFrame, front: pd.DataFrame,
                objectives: list[tuple[str, str, str]]) -> ParetoData:
    """Panels for every pair of objectives (one panel for two objectives).

    ``objectives`` holds (column, direction, unit). A single objective is plotted against the trial
    number.
    """
    done = table[table["state"] == "COMPLETE"] if not table.empty else table
    cols = [o[0] for o in objectives]
    labels = {c: f"{c} [{u}] ({'lower' if d == 'minimize' else 'higher'} is better)"
              for c, d, u in objectives}
    if len(objectives) == 1:
        done = done.assign(trial=done["number"]) if not done.empty else done
        front = front.assign(trial=front["number"]) if not front.empty else front
        labels["trial"] = "trial"
        pairs = [("trial", cols[0])]
    else:
        pairs = list(itertools.combinations(cols, 2))
    front_numbers = set(front["number"]) if not front.empty else set()
    panels = []
    for x, y in pairs:
        panel = PanelData(x, y, labels[x], labels[y])
        for _, row in done.iterrows():
            point = (float(row[x]), float(row[y]))
            if row["number"] in front_numbers:
                panel.front.append((*point, int(row["number"])))
            elif row.get("feasible") is False:
                panel.infeasible.append(point)
            else:
                panel.others.append(point)
        panel.front_line = sorted((p[0], p[1]) for p in panel.front)
        panels.append(panel)
    n_front = len(front_numbers)
    return ParetoData(panels, f"{len(done)} complete trials, {n_front} on the Pareto front")


def save_pareto(data: ParetoData, path: Path) -> Path:
    """Draw ParetoData to a PNG (and whatever suffix ``path`` has)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(1, len(data.panels))
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, data.panels):
        if panel.others:
            ax.scatter(*zip(*panel.others), s=18, c="0.75", label="dominated")
        if panel.infeasible:
            ax.scatter(*zip(*panel.infeasible), s=18, marker="x", c="0.55", label="infeasible")
        if panel.front:
            xs, ys, numbers = zip(*panel.front)
            ax.plot(*zip(*panel.front_line), c="tab:blue", lw=0.8, alpha=0.6, zorder=1)
            ax.scatter(xs, ys, s=36, c="tab:blue", label="Pareto front", zorder=2)
            for x, y, k in panel.front:
                ax.annotate(f"#{k}", (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
        ax.set_xlabel(panel.x_label, fontsize=8)
        ax.set_ylabel(panel.y_label, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(data.panels):]:
        ax.axis("off")
    fig.suptitle(data.title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
