"""A grid sampler whose points keep their meaning across runs and workers.

Optuna's ``GridSampler`` stores with each trial a ``grid_id``: an index into the grid as *its own
process* shuffled it with its seed, and trial ``n`` takes index ``n``. A study resumed, or joined by
another worker, with another seed reads those indices as other points: some are evaluated twice and
others never (a 12-point grid run to 5 trials and resumed: 12 trials, 9 distinct points).

Here a trial records the point's index in the *unshuffled* grid (the product of the sorted axes'
values), which every process reads the same; the seed only orders the visit. A new trial takes the
first point, in that order, that no trial of the study holds yet (in any state: a failed point is
not re-tried with a new trial; a killed worker's trial is re-queued by the heartbeat with its point).
It is chosen while :func:`codesign.study.trial_slot_lock` is held, so concurrent workers never take
the same point.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Mapping, Sequence

import numpy as np
from optuna.samplers import BaseSampler

#: the system attribute holding a trial's point: {"id": index in the unshuffled grid, "space": digest}
ATTR = "codesign.grid"


class GridExhausted(RuntimeError):
    """Every point of the grid is held by a trial."""


class StableGridSampler(BaseSampler):
    def __init__(self, search_space: Mapping[str, Sequence[Any]], seed: int = 0) -> None:
        self._names = sorted(search_space)
        self._values = [list(search_space[n]) for n in self._names]
        self.size = math.prod(len(v) for v in self._values)
        self._order = np.random.RandomState(seed % 2**32).permutation(self.size)
        self._space = hashlib.sha256(json.dumps([self._names, self._values], sort_keys=True,
                                                default=str).encode()).hexdigest()[:16]

    # --- pure index <-> point maths (mixed radix over the sorted axes) -------------------------
    def point(self, index: int) -> dict[str, Any]:
        out = {}
        for name, values in zip(reversed(self._names), reversed(self._values)):
            index, i = divmod(index, len(values))
            out[name] = values[i]
        return out

    def index(self, params: Mapping[str, Any]) -> int | None:
        """The index of a point given by its parameters, or None if it is not on this grid."""
        index = 0
        for name, values in zip(self._names, self._values):
            if name not in params or params[name] not in values:
                return None
            index = index * len(values) + values.index(params[name])
        return index

    # --- what the study holds --------------------------------------------------------------------
    def taken(self, trials) -> set[int]:
        """Indices held by ``trials`` (any state): by the recorded point when it is of this grid,
        else by the parameters (trials of older runs, or of another grid with the same axes)."""
        held = set()
        for t in trials:
            mark = t.system_attrs.get(ATTR)
            if isinstance(mark, dict) and mark.get("space") == self._space:
                held.add(int(mark["id"]))
            else:
                index = self.index(t.params)
                if index is not None:
                    held.add(index)
        return held

    def open_points(self, study) -> list[int]:
        """Indices no trial holds, in visiting order."""
        held = self.taken(study._storage.get_all_trials(study._study_id, deepcopy=False))
        return [int(i) for i in self._order if int(i) not in held]

    # --- Optuna's sampler interface --------------------------------------------------------------
    def before_trial(self, study, trial) -> None:
        if ATTR in trial.system_attrs or "fixed_params" in trial.system_attrs:
            return  # a re-queued trial keeps its point
        free = self.open_points(study)
        if not free:
            raise GridExhausted(f"every one of the {self.size} grid points is taken")
        study._storage.set_trial_system_attr(trial._trial_id, ATTR,
                                             {"id": free[0], "space": self._space})

    def infer_relative_search_space(self, study, trial) -> dict:
        return {}

    def sample_relative(self, study, trial, search_space) -> dict:
        return {}

    def sample_independent(self, study, trial, param_name, param_distribution) -> Any:
        mark = trial.system_attrs.get(ATTR)
        if not isinstance(mark, dict) or param_name not in self._names:
            raise ValueError(f"grid sampler: trial {trial.number} has no grid point for "
                             f"{param_name!r}")
        return self.point(int(mark["id"]))[param_name]

    def reseed_rng(self) -> None:
        """The visiting order is fixed by the study's seed, never re-drawn."""
