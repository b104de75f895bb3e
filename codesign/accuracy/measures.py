"""A task's extra measures beside its primary metric, per drift time and variant.

Some workloads compute more than the one metric a result is summed up by: the retrieval workload
Recall@1, MRR@10 and nDCG@10 (primary MRR@10), SQuAD exact match beside F1, a GLUE task every
metric GLUE reports for it. Such a task keeps the measures of its last evaluation in
``task.last_metrics``. :func:`codesign.accuracy.drift.evaluate_series` records them at every
evaluation (draw, drift time, variant), and :func:`tabulate` makes them the result's ``measures``
(:class:`~codesign.accuracy.settings.AccuracyResult`)::

    {name: {"digital": x, "analog_before": {label: {"mean", "std"}}, "analog_after": {...}}}

with the same draws, and so the same mean and std, as the primary metric's series. A task
without ``last_metrics`` (the default fidelity workload, causal-lm) has no measures.
"""

from __future__ import annotations

from typing import Sequence

#: {variant: {drift label: [the task's measures of each draw, in draw order]}}
Recorded = dict[str, dict[str, list[dict[str, float]]]]
#: the variants of a result, as the series that hold them are named in it
VARIANT_KEYS = {"before": "analog_before", "after": "analog_after"}
#: SQuAD task names load_task takes (codesign.accuracy.workloads.load_task)
_SQUAD_NAMES = ("squad", "squad_v1", "squad1.1", "rajpurkar/squad")


def task_measures(task) -> dict[str, float]:
    """A copy of the measures of the task's last evaluation ({} when it keeps none)."""
    return {str(k): float(v) for k, v in (getattr(task, "last_metrics", None) or {}).items()}


def record(recorded: Recorded, variant: str, label: str, task) -> None:
    """Append the task's measures of the evaluation just run (nothing when it keeps none)."""
    got = task_measures(task)
    if got:
        recorded.setdefault(variant, {}).setdefault(label, []).append(got)


def tabulate(digital: dict[str, float], recorded: Recorded) -> dict[str, dict]:
    """The result's ``measures`` from the digital model's measures and those recorded by the
    drift evaluation ({} when the task has none)."""
    from codesign.accuracy.metrics import summarize

    if not digital:
        return {}
    out: dict[str, dict] = {}
    for name, value in digital.items():
        entry: dict = {"digital": float(value)}
        for variant, per in recorded.items():
            entry[VARIANT_KEYS.get(variant, variant)] = {
                label: summarize([draw[name] for draw in draws]) for label, draws in per.items()}
        out[name] = entry
    return out


def has_measures(workload) -> bool:
    """Whether the task of ``workload`` (a WorkloadSpec) reports measures, known from its task
    name alone (no model or data loaded): retrieval, SQuAD and GLUE by name. A local GLUE or
    SQuAD file also does, but is not recognised here."""
    from codesign.accuracy.workloads import glue_name
    from codesign.accuracy.workloads.retrieval import TASKS

    task = str(workload.task)
    return task in TASKS or task.lower() in _SQUAD_NAMES or bool(glue_name(task))


def format_measures(measures: dict[str, dict], labels: Sequence[str]) -> str:
    """A Markdown table: one row per drift time and variant, one column per measure, mean ± std
    over the draws (the digital model's row first)."""
    names = list(measures)
    lines = ["| drift | model | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names),
             "| - | digital | " + " | ".join(f"{measures[m]['digital']:.3f}" for m in names)
             + " |"]
    for label in labels:
        for key in VARIANT_KEYS.values():
            cells = [(measures[m].get(key) or {}).get(label) for m in names]
            if all(c is None for c in cells):
                continue
            text = ("-" if c is None else f"{c['mean']:.3f} ± {c['std']:.3f}" for c in cells)
            lines.append(f"| {label} | {key.replace('_', ' ')} | " + " | ".join(text) + " |")
    return "\n".join(lines)
