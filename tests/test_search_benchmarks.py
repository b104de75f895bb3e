"""The search benchmarks' own pieces: the grid's scaling and front, and their one-line refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from search_efficiency import JOINT, GridScale, front  # noqa: E402


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


@pytest.mark.parametrize("args,message", [
    (["search_efficiency.py", "--joint", "--strategies", "base,nope"], "--strategies: unknown"),
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
