"""All three retrieval measures at every drift time: the table of ``docs/guide/retrieval.md``.

``codesign accuracy --workload minilm-retrieval`` reports the primary measure (MRR@10) per drift
time, as every workload reports one metric. This module reports Recall@1, MRR@10 and nDCG@10 of
the digital model and of the analog model before and after its adapters, mean and std over draws:
the adapters are trained (or found in the cache) by :func:`codesign.accuracy.engine.evaluate`,
then the drift evaluation is run again with the same draws, variants and noise as the engine's
(:func:`codesign.accuracy.drift.evaluate_series`), reading every evaluation's measures from the
task's log. The same flags as ``codesign accuracy``::

    python -m codesign.accuracy.workloads.retrieval_table --workload minilm-retrieval --rank 8 \\
        --drift-times 0s 1d 1y 10y --draws 3 --json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from pathlib import Path
from typing import Sequence

from codesign.errors import InputError


def tabulate(log: Sequence[dict[str, float]], labels: Sequence[str], n_draws: int,
             variants: Sequence[str]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """{variant: {drift label: {measure: {"mean", "std"}}}} from the measures of the evaluations
    of :func:`~codesign.accuracy.drift.evaluate_series`, in its order (draw, drift time,
    variant)."""
    from codesign.accuracy.metrics import summarize

    if len(log) != n_draws * len(labels) * len(variants):
        raise ValueError(f"{len(log)} evaluations logged, expected "
                         f"{n_draws} draws x {len(labels)} drift times x {len(variants)} variants")
    out: dict = {v: {label: {} for label in labels} for v in variants}
    for vi, v in enumerate(variants):
        for li, label in enumerate(labels):
            rows = [log[(d * len(labels) + li) * len(variants) + vi] for d in range(n_draws)]
            out[v][label] = {m: summarize([r[m] for r in rows]) for m in rows[0]}
    return out


def measure(workload, aimc, lora, settings, cache_dir: Path, progress: bool = False) -> dict:
    """{"digital": {measure: value}, "analog_before"/"analog_after": tabulate's per variant,
    "train_key", "metric"} for one setting (adapter training mode ``lora`` only)."""
    from codesign.accuracy import cache, engine, lora as lora_mod
    from codesign.accuracy.drift import evaluate_series
    from codesign.accuracy.settings import with_overrides
    from codesign.accuracy.workloads import load_task
    from codesign.accuracy.workloads.retrieval import RetrievalTask

    if settings.training.mode != "lora":
        raise InputError("--mode: the retrieval table compares adapters on and off (mode lora)")
    task = load_task(workload)
    if not isinstance(task, RetrievalTask):
        raise InputError(f"--workload: {workload.name!r} is not a retrieval workload (task "
                         f"{workload.task!r}; use minilm-retrieval)")
    quick = with_overrides(settings, **{"evaluation.drift_times": ("0s",),
                                        "evaluation.n_draws": 1})
    res = engine.evaluate(workload, aimc, lora, quick, cache_dir, progress=progress)
    if not res.ok:
        raise RuntimeError(f"adapter training failed: {res.reason}")
    key = res.extras["train_key"]
    built = engine.build(workload, aimc, lora, settings, task=task)
    digital = dict(task.log[-1])
    lora_mod.load_adapter_weights(built.model, cache.adapter_dir(cache_dir, key))
    engine.use_integration(built.model, aimc, settings)
    start = len(task.log)
    variants = {"before": built.model.disable_adapter, "after": contextlib.nullcontext}
    ev = settings.evaluation
    evaluate_series(built.model, task, ev, built.device, variants, progress=progress)
    table = tabulate(task.log[start:], ev.drift_times, ev.n_draws, list(variants))
    return {"digital": digital, "analog_before": table["before"], "analog_after": table["after"],
            "metric": task.metric, "train_key": key, "workload": dataclasses.asdict(workload)}


def format_table(d: dict) -> str:
    """A Markdown table: one row per drift time and variant, one column per measure."""
    measures = list(d["digital"])
    lines = ["| drift | model | " + " | ".join(measures) + " |",
             "|---|---|" + "---|" * len(measures),
             "| - | digital | " + " | ".join(f"{d['digital'][m]:.3f}" for m in measures) + " |"]
    for label in d["analog_after"]:
        for variant in ("analog_before", "analog_after"):
            cells = (f"{c['mean']:.3f} ± {c['std']:.3f}"
                     for c in (d[variant][label][m] for m in measures))
            lines.append(f"| {label} | {variant.replace('_', ' ')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from codesign.cli import accuracy as cli
    from codesign.cli._common import print_json

    parser = argparse.ArgumentParser(prog="python -m codesign.accuracy.workloads.retrieval_table")
    cli.add_parser(parser.add_subparsers())
    try:
        args = parser.parse_args(["accuracy", *(argv if argv is not None else sys.argv[1:])])
        workload, aimc, lora, settings = cli.build_request(args)
        cache_dir = cli.check_cache_dir(args.cache_dir or cli.default_cache_dir(), "--cache-dir")
        out = measure(workload, aimc, lora, settings, cache_dir, progress=not args.quiet)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print_json(out)
    else:
        print(format_table(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
