"""The grid sampler's index maths and visiting order (codesign.grid_sampler), on a real study."""

from __future__ import annotations

import optuna
import pytest

from codesign.grid_sampler import GridExhausted, StableGridSampler

SPACE = {"b": [1, 2, 3], "a": ["x", "y"], "c": [0.5, 1.5]}


def test_index_and_point_are_inverse_and_independent_of_the_seed():
    one, other = StableGridSampler(SPACE, seed=0), StableGridSampler(SPACE, seed=99)
    assert one.size == 12
    for i in range(12):
        assert one.point(i) == other.point(i)
        assert one.index(one.point(i)) == i
    assert len({tuple(sorted(one.point(i).items())) for i in range(12)}) == 12
    assert one.index({"a": "z", "b": 1, "c": 0.5}) is None and one.index({"a": "x"}) is None


def _objective(trial):
    return float(trial.suggest_int("b", 1, 3) + trial.suggest_float("c", 0.5, 1.5)
                 + (trial.suggest_categorical("a", ["x", "y"]) == "y"))


@pytest.mark.parametrize("seed", [0, 7])
def test_samplers_of_other_seeds_continue_one_study_without_repeating(tmp_path, seed):
    storage = f"sqlite:///{tmp_path / 'g.db'}"
    seen = []
    for run_seed in (seed, seed + 1, seed + 2):  # as the old resume did
        study = optuna.create_study(study_name="g", storage=storage, load_if_exists=True,
                                    sampler=StableGridSampler(SPACE, seed=run_seed))
        study.optimize(_objective, n_trials=4)
        seen = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(seen) == 12 and len(set(seen)) == 12
    with pytest.raises(GridExhausted):
        study.ask()


def test_the_order_is_the_seeds():
    first = [StableGridSampler(SPACE, seed=3)._order.tolist() for _ in range(2)]
    assert first[0] == first[1] and sorted(first[0]) == list(range(12))
    assert StableGridSampler(SPACE, seed=4)._order.tolist() != first[0]
