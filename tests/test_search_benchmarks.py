"""The search benchmarks' own pieces: the grid's scaling and front, and their one-line refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from search_efficiency import JOINT, GridScale, _complete, _first, _warm_gaps, front  # noqa: E402

from codesign.study.record import RunFacts, TrialRecord, Training  # noqa: E402


@pytest.mark.parametrize("points,expected", [
    ([[1, 2], [2, 1], [2, 2]], [True, True, False]),      # (2, 2) is beaten by both
    ([[1, 1], [1, 1]], [True, True]),                      # equal points dominate neither
    ([[0, 0], [1, 1], [0, 1]], [True, False, False]),
])
def test_front_keeps_the_points_nothing_dominates(points, expected):
    assert front(np.array(points, dtype=float)).tolist() == expected


def test_a_grid_scale_gives_the_grid_its_whole_hypervolume_and_its_front_too():
    from codesign.config import study_from_dict

    objectives = study_from_dict(JOINT).config.objectives     # accuracy (max), latency, energy
    grid = np.array([[0.90, 10.0, 5.0], [0.85, 8.0, 4.0], [0.80, 9.0, 6.0], [0.88, 12.0, 7.0]])
    scale = GridScale(grid, objectives)
    assert scale.front(grid) == {0, 1}                     # the last two are dominated by the first
    assert scale.share(grid) == pytest.approx(1.0)
    assert scale.share(grid[[0, 1]]) == pytest.approx(1.0)
    assert scale.share(grid[[1]]) < 1.0
    assert scale.share(grid[:0]) == 0.0


def _rec(number, sibling_of=None, params=None, adapter=None, start=None, value=0.8,
         promotes=None, screened=False):
    return TrialRecord(number=number, state="COMPLETE", params=params or {"x": number},
                       values=[value, 1.0, 1.0], sibling_of=sibling_of, promotes=promotes,
                       run=RunFacts(training=Training("s", adapter or f"a{number}", start=start,
                                                      screened=screened)))


@pytest.mark.parametrize("n,expected", [
    (1, [0, 1, 2]),            # the first proposal and the two siblings it brought
    (2, [0, 1, 2, 3]),
    (3, [0, 1, 2, 3, 4, 5]),
    (9, [0, 1, 2, 3, 4, 5]),   # fewer proposals than asked: all of them
])
def test_a_budget_counts_proposals_each_with_its_siblings(n, expected):
    records = [_rec(0), _rec(1, sibling_of=0), _rec(2, sibling_of=0), _rec(3), _rec(4),
               _rec(5, sibling_of=4)]
    assert [r.number for r in _first(records, n)] == expected


def test_a_budget_counts_promotions_with_their_proposal_and_drops_what_they_superseded():
    # 0 screened, promoted by 1 (then its sibling 2); 3 screened, its promotion 5 comes after
    # the next proposal 4 (a promotion found later)
    records = [_rec(0, screened=True), _rec(1, promotes=0, params={"x": 0}),
               _rec(2, sibling_of=0), _rec(3, screened=True), _rec(4),
               _rec(5, promotes=3, params={"x": 3})]
    assert [r.number for r in _first(records, 1)] == [0, 1, 2]
    assert [r.number for r in _first(records, 3)] == [0, 1, 2, 3, 4, 5]
    assert len(_complete(records, 1)) == 2                 # 0 superseded by 1
    assert len(_complete(records, 2)) == 3                 # 3 not superseded yet
    assert len(_complete(records, 3)) == 4


def test_warm_gaps_tell_rank_from_noise_changes_and_where_they_started():
    axes = {"rank": 4, "adc_bits": 8, "dac_bits": 8, "train_integration_ns": 256}
    trainings = {"root": {"axes": axes, "start": None},
                 "r16": {"axes": axes | {"rank": 16}, "start": "root"},           # rank alone
                 "adc6": {"axes": axes | {"adc_bits": 6}, "start": "root"},       # a noise
                 "r1": {"axes": axes | {"rank": 1}, "start": "r16"}}              # from warm
    grid = {"params": [{"x": i} for i in range(5)], "values": [[0.9, 1, 1]] * 5}
    records = [_rec(0, adapter="root", value=0.9),
               _rec(1, adapter="r16", start="root", value=0.9),
               _rec(2, adapter="adc6", start="root", value=0.88),
               _rec(3, adapter="r1", start="r16", value=0.885),
               _rec(4, params={"x": 2}, adapter="adc6", start="root", value=0.88)]  # seen
    gaps = _warm_gaps(records, grid, trainings)
    assert {k: [round(g, 6) for g in v] for k, v in gaps.items()} == {
        "rank/from_scratch": [0.0], "noise/from_scratch": [-2.0], "rank/from_warm": [-1.5]}
    screened = [_rec(0, adapter="adc6", start="root", value=0.87, screened=True)]
    assert list(_warm_gaps(screened, grid, trainings)) == ["screen/from_scratch",
                                                          "screen_by/adc_bits"]
    # a placement screen: the same noise and rank, another placement's layers
    trainings |= {"qkv": {"axes": axes, "start": "root", "roles": ["key", "query", "value"]},
                  "root": trainings["root"] | {"roles": ["every", "role"]}}
    screened = [_rec(0, adapter="qkv", start="root", value=0.87, screened=True)]
    gaps = _warm_gaps(screened, grid, trainings)
    assert {k: [round(g, 6) for g in v] for k, v in gaps.items()} == {
        "screen/from_scratch": [-3.0], "screen_by/placement": [-3.0]}


@pytest.mark.parametrize("args,message", [
    (["search_efficiency.py", "--joint", "--strategies", "base,nope"], "--strategies: unknown"),
    (["search_efficiency.py", "--joint", "--first-seed", "-1"], "--first-seed: -1"),
    (["search_replay.py"], "no joint grid in"),
    (["warm_curves.py"], "no joint grid in"),
])
def test_bad_benchmark_input_is_one_line_and_exit_2(tmp_path, args, message):
    script, *rest = args
    if script != "search_efficiency.py":
        rest += ["--cache", str(tmp_path / "none")]
    run = subprocess.run([sys.executable, str(BENCHMARKS / script), *rest], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 2
    assert message in run.stderr and run.stderr.strip().splitlines()[-1].count(message) == 1
    assert not (tmp_path / "none").exists()                 # nothing created


def test_each_strategy_pins_the_search_settings_whose_defaults_moved():
    """A strategy's figures keep their meaning when the defaults move: each names the settings
    measured with (siblings, warm-start knobs, screens of noises and placements, how promotions
    train; the promotion threshold with screens)."""
    from search_efficiency import STRATEGIES

    for name, spec in STRATEGIES.items():
        search = spec["search"]
        assert {"siblings", "warm_start_axes", "screen_steps", "screen_placements",
                "promote_steps", "screen_start", "optimism_by"} <= set(search), name
        if search["screen_steps"]:
            assert {"promote_share", "promote_optimism"} <= set(search), name
