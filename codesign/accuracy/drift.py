"""Drift evaluation: N programming draws, each drifted through the drift times, metric per variant.

For draw d the tiles are programmed once (seed = evaluation.seed + d: programming noise and drift
exponents), then drifted to every drift time in order (read noise, GDC) and the metric is taken for
each variant (e.g. adapters off = 'analog before training', adapters on = 'after'), so that the
variants of one draw see the same devices (a paired comparison). Within a draw every evaluation
(each variant, each drift time) also sees the same output noise: the first evaluation's draws are
recorded and replayed to the others (common random numbers,
:class:`~codesign.accuracy.tiles.NoiseTape`). Each value keeps its distribution (a draw is one
chip: its programming, drift and read noise are its own; output noise is the same law at every
read), draws stay independent of each other, differences between variants or drift times are
measured with less noise, and the output noise is drawn once per chip instead of once per
evaluation.

With ``measures`` (a dict), the task's extra measures of every evaluation
(:attr:`last_metrics`, e.g. retrieval's Recall@1 / MRR@10 / nDCG@10) are recorded into it,
``{variant: {drift label: [one dict per draw]}}`` (:mod:`codesign.accuracy.measures`).
"""

from __future__ import annotations

import contextlib
from typing import Callable, Optional

from codesign.accuracy import convert
from codesign.accuracy.measures import Recorded, record
from codesign.accuracy.metrics import summarize
from codesign.accuracy.settings import EvaluationSettings, drift_seconds
from codesign.accuracy.tiles import NoiseTape, shared_output_noise


def evaluate_series(model, task, evaluation: EvaluationSettings, device,
                    variants: dict[str, Callable[[], contextlib.AbstractContextManager]],
                    progress: bool = False,
                    measures: Optional[Recorded] = None) -> dict[str, dict[str, dict]]:
    """{variant: {drift label: {"mean", "std", "draws"}}} over ``evaluation.n_draws`` draws
    (``draws``: the value of each draw in draw order)."""
    import torch

    values = {v: {label: [] for label in evaluation.drift_times} for v in variants}
    model.eval()
    convert.set_tiles_mode(model, False)
    total = evaluation.n_draws * len(evaluation.drift_times)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="drift evaluation", leave=False, dynamic_ncols=True)
    try:
        with torch.no_grad():
            for d in range(evaluation.n_draws):
                convert.program(model, seed=evaluation.seed + d)
                tape = NoiseTape()
                for label in evaluation.drift_times:
                    convert.drift(model, drift_seconds(label))
                    for k, (variant, ctx) in enumerate(variants.items()):
                        torch.manual_seed(evaluation.seed * 7919 + d * 101 + k)
                        with ctx(), shared_output_noise(tape):
                            values[variant][label].append(task.evaluate(model, device))
                        if measures is not None:
                            record(measures, variant, label, task)
                        tape.rewind()
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        convert.restore_reference(model)
    return {v: {label: summarize(xs) | {"draws": [float(x) for x in xs]}
                for label, xs in per.items()} for v, per in values.items()}
