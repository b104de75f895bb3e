"""The quickstart study, accuracy included, end to end on a few tiny trials (real models, no mocks)."""

from __future__ import annotations

import pandas as pd
import pytest

from codesign.cli import main

TINY = [
    "--set", "n_trials=3",
    "--set", "search_space={rank: {choices: [2]}, tokens: {choices: [8, 16]}}",
    "--set", "workload.accuracy.n_train=16",
    "--set", "workload.accuracy.n_eval=8",
    "--set", "workload.accuracy.max_seq_len=16",
    "--set", "accuracy.training.steps=2",
    "--set", "accuracy.training.batch_size=8",
    "--set", "accuracy.evaluation.drift_times=[1d]",
    "--set", "accuracy.evaluation.n_draws=1",
    "--set", "objectives=[{name: accuracy, at: 1d}, {name: latency_us}]",
]


def test_quickstart_runs_the_full_loop(tmp_path, capsys):
    pytest.importorskip("aihwkit")
    out = tmp_path / "results"
    assert main(["run", "studies/quickstart.yaml", "--out", str(out), "--no-progress", *TINY]) == 0
    trials = pd.read_csv(out / "quickstart" / "trials.csv")
    # the quickstart's grid sampler stops at the grid's 2 points, not the 3 trials asked for
    assert len(trials) == 2 and set(trials["state"]) == {"COMPLETE"}
    assert trials["accuracy@1d"].between(0, 1).all()
    assert trials["accuracy_before@1d"].between(0, 1).all()
    # one accuracy setting (rank 2, placement all): trained once, then a cache hit
    assert trials["accuracy_cache_hit"].sum() == 1
    assert (out / "quickstart" / "pareto.png").is_file()
    assert "results: " in capsys.readouterr().out
