"""The one typed trial record, the one pruning protocol, and the results table built from records."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml

from codesign.cli import main
from codesign.results import BASE_COLUMNS
from codesign.study import record
from codesign.study.pruners import TrialCheckpoints
from codesign.study.record import Drift, RunFacts, Training, TrialRecord

CODESIGN = Path(__file__).resolve().parent.parent / "codesign"
#: columns of trials.csv that say how a run went (who, how long), not what it found
RUN_FACTS = ["duration_s", "eval_s", "worker"]

LATENCY_STUDY = {
    "name": "seeded",
    "sampler": "tpe",
    "seed": 3,
    "n_trials": 6,
    "workload": {"network": "minilm-l6", "seq_len": 64},
    "search_space": {"rank": {"choices": [1, 4, 16]}, "tokens": {"choices": [8, 16, 32]},
                     "integration_ns": {"low": 128, "high": 512, "log": True}},
    "objectives": [{"name": "latency_us"}, {"name": "energy_uj"}],
    "constraints": ["tcdm_fits", "adapter_params<=200000"],
}


def test_a_seeded_latency_study_writes_the_same_trials_csv_twice(tmp_path):
    path = tmp_path / "seeded.yaml"
    path.write_text(yaml.safe_dump(LATENCY_STUDY))
    tables = []
    for run in ("a", "b"):
        assert main(["run", str(path), "--out", str(tmp_path / run), "--no-progress"]) == 0
        tables.append(pd.read_csv(tmp_path / run / "seeded" / "trials.csv"))
    first, second = tables
    assert len(first) == 6 and set(first["state"]) == {"COMPLETE"}
    pd.testing.assert_frame_equal(first.drop(columns=RUN_FACTS), second.drop(columns=RUN_FACTS))
    assert first["integration_ns"].nunique() > 1          # a float axis, sampled from the seed
    # the columns results.py documents: BASE_COLUMNS, params, objectives, the other metrics in
    # the hardware model's order, then one constraint[...] per rule
    from codesign import evaluators
    from codesign.config import load_study
    from codesign.search_space import param_name

    loaded = load_study(path)
    metrics = list(evaluators.hardware_metrics(loaded.config.design))
    params, objectives = [param_name(p) for p in loaded.axes], ["latency_us", "energy_uj"]
    assert sorted(params) == ["integration_ns", "rank", "tokens"]
    assert list(first.columns) == (
        BASE_COLUMNS + params + objectives + [m for m in metrics if m not in objectives]
        + ["constraint[tcdm_fits>=1]", "constraint[adapter_params<=200000]"])
    # a derived figure a reader knows: a rule's constraint value is metric - bound (<= 0 met)
    assert (first["constraint[adapter_params<=200000]"]
            == first["adapter_params"] - 200000).all()
    assert (first["feasible"] == ((first["tcdm_fits"] >= 1)
                                  & (first["adapter_params"] <= 200000))).all()


@pytest.mark.parametrize("sampler", ["nsga2", "tpe"])
def test_a_seeded_study_proposes_the_same_first_trials_whatever_its_length(sampler):
    """The joint benchmark reads a smaller budget from the first trials of a longer run: a seeded
    sampler does not look at the study's length."""
    from codesign import load_study, run_study, trials_table

    loaded = load_study({**LATENCY_STUDY, "sampler": sampler, "population_size": 4})
    short = trials_table(run_study(loaded, n_trials=5))
    long = trials_table(run_study(loaded, n_trials=9))
    columns = ["rank", "tokens", "integration_ns", "latency_us", "energy_uj"]
    pd.testing.assert_frame_equal(short[columns], long[columns].head(5))
    assert len(long) == 9


def test_a_record_written_into_a_trial_reads_back_the_same():
    study = optuna.create_study(directions=["minimize", "maximize"])
    trial = study.ask()
    trial.suggest_categorical("rank", [1, 8])
    series = {"1d": {"mean": 0.8, "std": 0.01, "draws": [0.79, 0.81]}}
    written = TrialRecord(
        metrics={"latency_us": 12.5, "accuracy@1d": 0.8}, constraints={"tcdm_fits>=1": 0.0},
        run=RunFacts("host:1", 0.25, True, False,
                     Training("s", "s", steps=20, to_step=20, trained_here=True)),
        drift=Drift({"1d": {"mean": 0.9, "std": 0.0}}, series, series), accuracy_metric="f1")
    record.write(trial, written)
    study.tell(trial, [12.5, 0.8])
    read = record.of(study.trials[0])
    assert read.state == "COMPLETE" and read.values == [12.5, 0.8] and read.feasible
    assert read.params == {"rank": trial.params["rank"]}
    for name in ("metrics", "constraints", "run", "drift", "accuracy_metric", "partial", "reason"):
        assert getattr(read, name) == getattr(written, name), name
    assert read.training is not None and read.training.steps_trained == 20
    # the constraints reach Optuna too: its front (best_trials) leaves out an infeasible trial
    # that would dominate
    infeasible = study.ask()
    record.write(infeasible, TrialRecord(constraints={"tcdm_fits>=1": 1.0}))
    study.tell(infeasible, [1.0, 0.9])
    assert record.of(study.trials[1]).feasible is False
    assert [t.number for t in study.best_trials] == [0]


def test_a_failed_trial_records_its_reason_only():
    study = optuna.create_study()
    trial = study.ask()
    record.write(trial, TrialRecord(reason="SpecError: tokens above seq_len"))
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    read = record.of(study.trials[0])
    assert read.reason == "SpecError: tokens above seq_len" and read.feasible is None
    assert read.metrics is None and read.run is None and read.drift is None


def test_checkpoints_stop_a_training_only_with_enough_evidence():
    """TrialCheckpoints.report: the ledger trial's pruner decides, once ``min_settings`` other
    settings reached the checkpoint."""
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(
        n_startup_trials=0, n_warmup_steps=0))
    best = study.ask()
    best.report(0.9, 4)
    study.tell(best, 0.9)
    weak = TrialCheckpoints(study.ask(), reached=lambda step: 1, min_settings=2)
    assert weak.report(4, 0.1) is False and weak.stopped_at is None  # one other setting: go on
    worse = TrialCheckpoints(study.ask(), reached=lambda step: 1, min_settings=1)
    assert worse.report(4, 0.1) is True
    assert (worse.stopped_at, worse.stopped_value) == (4, 0.1)
    better = TrialCheckpoints(study.ask(), reached=lambda step: 1, min_settings=1)
    assert better.report(4, 0.95) is False


def _sources() -> dict[str, str]:
    return {str(p.relative_to(CODESIGN)): p.read_text() for p in CODESIGN.rglob("*.py")}


def test_trials_are_pruned_in_one_place():
    raised = [name for name, text in _sources().items() if re.search(r"TrialPruned\(", text)]
    assert raised == ["study/pruners.py"]


@pytest.mark.parametrize("pattern", [r"\buser_attrs\b"])
def test_user_attrs_are_read_only_by_the_record_and_the_ledger(pattern):
    # the ledger's own study: its claims (ledger.py; the costs they carry for the dominated
    # pruner, pruners.py) and its artifacts' ids (artifacts.py)
    allowed = {"study/record.py", "study/ledger.py", "study/pruners.py", "study/artifacts.py"}
    found = {name for name, text in _sources().items() if re.search(pattern, text)}
    assert found <= allowed, found - allowed
