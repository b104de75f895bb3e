"""Siblings: the points of a trial that its accuracy measurement already answers.

Some axes change neither a point's adapters nor its accuracy measurement: the tokens in flight,
the TCDM size, the clock; only the hardware model sees them. Once a trial has measured its
accuracy, every point that differs from it only in such axes has the same accuracy, and costs
only the hardware model (milliseconds to seconds). ``search.siblings`` (at most that many per
trial) queues them as trials of their own right after it (user attribute ``sibling_of``: the
trial they share the measurement with); they do not count towards ``n_trials``, which counts the
points the sampler proposed. The sampler then sees every hardware variant of an accuracy setting
it visits, and a proposal on a variant the front does not need (more tokens, same accuracy,
slower) still brings the one it needs.

:func:`sibling_params` is pure: which other values of which axes keep the accuracy inputs
(``inputs(params)``: everything the accuracy measurement depends on) equal.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

from codesign.study.record import enqueue_sibling, is_counted


def sibling_params(params: dict[str, Any], dists: dict[str, Any], inputs: Callable[[dict], Any],
                   limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` parameter sets that differ from ``params`` only in axes with a finite set
    of choices (``dists``: Optuna distributions by name) and whose ``inputs`` equal those of
    ``params``, in the axes' order (the first axis varies slowest). An axis is free when each of
    its other values, alone, keeps the inputs; each combination of the free axes is checked
    again."""
    from optuna.distributions import CategoricalDistribution

    if limit <= 0:
        return []
    mine = inputs(params)
    free: dict[str, list] = {}
    for name, dist in dists.items():
        if not isinstance(dist, CategoricalDistribution) or name not in params:
            continue
        others = [v for v in dist.choices if v != params[name]]
        if others and all(inputs({**params, name: v}) == mine for v in others):
            free[name] = list(dist.choices)
    out: list[dict[str, Any]] = []
    for combo in itertools.product(*free.values()):
        candidate = {**params, **dict(zip(free, combo))}
        if candidate == params or inputs(candidate) != mine:
            continue
        out.append(candidate)
        if len(out) >= limit:
            break
    return out


def queue_siblings(study, trial_number: int, dists: dict[str, Any],
                   inputs: Callable[[dict], Any], limit: int) -> int:
    """Queue the siblings of complete trial ``trial_number`` that the study does not hold yet
    (the same parameters); returns how many."""
    trials = study.get_trials(deepcopy=False)
    trial = next(t for t in trials if t.number == trial_number)
    if trial.state.name != "COMPLETE" or not is_counted(trial):   # a sibling or a promotion
        return 0
    # (a point queued but not started yet has no params: at worst it is measured twice)
    held = {tuple(sorted(t.params.items())) for t in trials if t.state.name != "FAIL"}
    n = 0
    for params in sibling_params(dict(trial.params), dists, inputs, limit):
        if tuple(sorted(params.items())) in held:
            continue
        enqueue_sibling(study, params, trial_number)
        n += 1
    return n


def accuracy_inputs(loaded) -> Callable[[dict], Any]:
    """``inputs(params)`` of :func:`sibling_params` for a study: what its accuracy measurement of
    the point depends on (workload, tile, LoRA and accuracy settings, with the layers the
    hardware keeps digital), the parameters by their names in the study; a point the design
    refuses has inputs of its own (it is nobody's sibling)."""
    from codesign.evaluators import accuracy_parts
    from codesign.search_space import apply_params, param_name

    design = loaded.config.design
    paths = {param_name(p): p for p in loaded.axes}

    def inputs(params: dict) -> Any:
        try:
            return accuracy_parts(apply_params(design, {paths[k]: v for k, v in params.items()}))
        except Exception:            # a SpecError: the design refuses this combination
            return object()

    return inputs
