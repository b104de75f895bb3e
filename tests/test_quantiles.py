"""Quantiles over noise draws (chips) as metrics: accuracy@1y:p10 in rules, objectives and pick."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.errors import InputError
from codesign.evaluators import accuracy_at, accuracy_metrics
from codesign.metrics import parse_at, parse_rule

AFTER = {"1d": {"mean": 0.9, "std": 0.01, "draws": [0.88, 0.9, 0.92]},
         "1y": {"mean": 0.8, "std": 0.05, "draws": [0.72, 0.8, 0.85, 0.83]}}
BEFORE = {"1d": {"mean": 0.85, "std": 0.0, "draws": [0.85]},
          "1y": {"mean": 0.7, "std": 0.02, "draws": [0.68, 0.72]}}


def test_quantile_is_the_percentile_over_draws_and_mean_stays_the_mean():
    assert accuracy_at(AFTER, "1y:p10") == pytest.approx(np.percentile([0.72, 0.8, 0.85, 0.83], 10))
    assert accuracy_at(AFTER, "1y:p0") == pytest.approx(0.72)
    assert accuracy_at(AFTER, "1y:p100") == pytest.approx(0.85)
    assert accuracy_at(AFTER, "1y") == 0.8
    # a low quantile is below the mean when chips spread
    assert accuracy_at(AFTER, "1y:p10") < accuracy_at(AFTER, "1y")
    worst = min(np.percentile(v["draws"], 10) for v in AFTER.values())
    assert accuracy_at(AFTER, "worst:p10") == pytest.approx(worst)


def test_metrics_compute_the_quantiles_a_study_names():
    out = accuracy_metrics(AFTER, BEFORE, ["accuracy@1y:p10", "accuracy_before@1y:p50",
                                           "latency_us"])
    assert out["accuracy@1y:p10"] == pytest.approx(accuracy_at(AFTER, "1y:p10"))
    assert out["accuracy_before@1y:p50"] == pytest.approx(0.70)
    assert out["accuracy"] == pytest.approx(0.85) and "latency_us" not in out


def test_rules_name_quantiles_and_bad_ones_are_one_line_errors():
    r = parse_rule("accuracy@1y:p10>=0.8", "r")
    assert (r.metric, r.base, r.op, r.bound) == ("accuracy@1y:p10", "accuracy", ">=", 0.8)
    assert parse_at("1y:p10", "x") == ("1y", 10.0) and parse_at("1d", "x") == ("1d", None)
    for text in ("accuracy@1y:q10>=0.8", "accuracy@1y:p101>=0.8", "latency_us@1y:p10<=3"):
        with pytest.raises(InputError):
            parse_rule(text, "--require")


def test_draws_kept_beside_the_contract_summary_are_merged_back():
    from codesign.accuracy.draws import series_with_draws

    result = {"analog_after": {"1y": {"mean": 0.8, "std": 0.05}},
              "analog_before": {"1y": {"mean": 0.7, "std": 0.02}},
              "draws": {"analog_after": {"1y": [0.75, 0.85]},
                        "analog_before": {"1y": [0.68, 0.72]}}}
    after, before = series_with_draws(result)
    assert after["1y"]["draws"] == [0.75, 0.85] and before["1y"]["mean"] == 0.7
    assert set(result["analog_after"]["1y"]) == {"mean", "std"}       # the contract untouched
    assert accuracy_at(after, "1y:p50") == pytest.approx(0.8)


def test_result_without_draws_says_so():
    with pytest.raises(InputError, match="per-draw"):
        accuracy_at({"1y": {"mean": 0.8, "std": 0.0}}, "1y:p10")


def test_study_objective_and_constraint_on_a_quantile_are_checked():
    from codesign.config import study_from_dict

    base = {"name": "q", "search_space": {"lora.rank": {"choices": [4, 8]}},
            "accuracy": {"evaluation": {"drift_times": ["1d", "1y"]}}}
    loaded = study_from_dict(base | {"objectives": [{"name": "accuracy", "at": "1y:p10"}],
                                     "constraints": ["accuracy@1d:p10>=0.5"]})
    assert loaded.needs_accuracy and loaded.rules[0].base == "accuracy"
    with pytest.raises(InputError, match="not an evaluated drift time"):
        study_from_dict(base | {"objectives": [{"name": "accuracy", "at": "10y:p10"}]})
    with pytest.raises(InputError, match="quantile"):
        study_from_dict(base | {"objectives": [{"name": "accuracy", "at": "1y:x10"}]})


def test_a_study_optimises_a_draw_quantile_and_pick_requires_another(tmp_path, capsys):
    pytest.importorskip("aihwkit")
    import pandas as pd
    import yaml

    from codesign.cli import main

    study = yaml.safe_load(open("studies/quickstart.yaml"))
    study.update(n_trials=1, search_space={"rank": {"choices": [2]}, "tokens": {"choices": [8]}},
                 objectives=[{"name": "accuracy", "at": "1d:p10"}, {"name": "latency_us"}])
    study.setdefault("workload", {})["accuracy"] = {"n_train": 16, "n_eval": 8, "max_seq_len": 16}
    study["accuracy"] = {"training": {"steps": 2, "batch_size": 8},
                         "evaluation": {"drift_times": ["1d"], "n_draws": 3}}
    path = tmp_path / "quantile.yaml"
    path.write_text(yaml.safe_dump(study))
    out = tmp_path / "results"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    folder = out / study["name"]
    row = pd.read_csv(folder / "trials.csv").iloc[0]
    assert row["state"] == "COMPLETE"
    # the 10th percentile over 3 chips lies below the mean
    assert 0 < row["accuracy@1d:p10"] <= row["accuracy@1d"] < 1
    capsys.readouterr()
    # pick computes a quantile the study did not record from the stored per-draw values
    assert main(["pick", str(path), "--out", str(out), "--require", "accuracy@1d:p90>=0"]) == 0
    assert "accuracy@1d:p90>=0" in (folder / "picked.yaml").read_text()


def test_per_draw_values_split_off_a_result_come_back_where_quantiles_are_taken():
    from codesign.accuracy.draws import series_with_draws, split_result
    from codesign.accuracy.settings import AccuracyResult

    before = {"1d": {"mean": 0.7, "std": 0.01, "draws": [0.69, 0.71]}}
    after = {"1d": {"mean": 0.8, "std": 0.02, "draws": [0.78, 0.82]}}
    res = AccuracyResult(metric="m")
    res.analog_before, res.analog_after, res.extras["draws"] = split_result(before, after)
    assert res.analog_after == {"1d": {"mean": 0.8, "std": 0.02}}     # the contract: no draws
    assert series_with_draws(res.to_dict()) == (after, before)
