"""Running studies end to end on the hardware model: files, resume, refusal, CLI exit codes."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
import yaml

from codesign.cli import main
from codesign.config import load_study
from codesign.study import run_study

LATENCY_STUDY = {
    "name": "lat",
    "sampler": "nsga2",
    "population_size": 4,
    "n_trials": 6,
    "workload": {"network": "minilm-l6", "seq_len": 64},
    "search_space": {"rank": {"choices": [1, 4, 16]}, "tokens": {"choices": [8, 16, 32]},
                     "integration_ns": {"choices": [128, 512]}},
    "objectives": [{"name": "latency_us"}, {"name": "adapter_params"}],
    "constraints": ["tcdm_fits"],
}


@pytest.fixture
def study_file(tmp_path):
    def write(**changes):
        data = {**LATENCY_STUDY, **changes}
        path = tmp_path / f"{data['name']}.yaml"
        path.write_text(yaml.safe_dump(data))
        return path
    return write


def run_cli(*args):
    return main([str(a) for a in args])


def test_run_writes_the_results_folder(study_file, tmp_path, capsys):
    out = tmp_path / "results"
    assert run_cli("run", study_file(), "--out", out, "--no-progress") == 0
    folder = out / "lat"
    trials = pd.read_csv(folder / "trials.csv")
    assert len(trials) == 6 and set(trials["state"]) == {"COMPLETE"}
    for col in ("rank", "tokens", "integration_ns", "latency_us", "adapter_params", "energy_uj",
                "tcdm_kib", "feasible", "constraint[tcdm_fits>=1]"):
        assert col in trials.columns
    pareto = pd.read_csv(folder / "pareto.csv")
    assert 1 <= len(pareto) <= 6 and set(pareto["number"]) <= set(trials["number"])
    # no pareto trial is dominated by a feasible trial
    feasible = trials[trials["feasible"]]
    for _, p in pareto.iterrows():
        dominated = ((feasible["latency_us"] <= p["latency_us"])
                     & (feasible["adapter_params"] <= p["adapter_params"])
                     & ((feasible["latency_us"] < p["latency_us"])
                        | (feasible["adapter_params"] < p["adapter_params"])))
        assert not dominated.any()
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["study"]["name"] == "lat" and "optuna" in config["versions"]
    assert (folder / "pareto.png").stat().st_size > 1000
    assert "results: " in capsys.readouterr().out


def test_rerun_resumes_and_grows_the_same_study(study_file, tmp_path):
    path, out = study_file(n_trials=3), tmp_path / "r"
    assert run_cli("run", path, "--out", out, "--no-progress") == 0
    first = pd.read_csv(out / "lat" / "trials.csv")
    assert run_cli("run", path, "--out", out, "--no-progress") == 0  # nothing to add
    assert len(pd.read_csv(out / "lat" / "trials.csv")) == 3
    assert run_cli("run", path, "--out", out, "--no-progress", "--n-trials", 5) == 0
    grown = pd.read_csv(out / "lat" / "trials.csv")
    assert len(grown) == 5
    pd.testing.assert_frame_equal(grown.head(3)[["number", "rank", "latency_us"]],
                                  first[["number", "rank", "latency_us"]])


def test_a_changed_definition_is_refused_and_nothing_is_touched(study_file, tmp_path, capsys):
    out = tmp_path / "r"
    assert run_cli("run", study_file(n_trials=2), "--out", out, "--no-progress") == 0
    db = out / "lat" / "study.db"
    before = db.read_bytes()
    changed = study_file(objectives=[{"name": "energy_uj"}])
    assert run_cli("run", changed, "--out", out, "--no-progress") == 2
    err = capsys.readouterr().err.strip()
    assert "already exists in this storage" in err and "\n" not in err
    assert db.read_bytes() == before


def test_axis_values_invalid_with_the_fixed_design_are_refused_before_any_trial(study_file,
                                                                              tmp_path, capsys):
    path = study_file(workload={"network": "minilm-l6", "seq_len": 16},
                      search_space={"tokens": {"choices": [8, 64]}})
    assert run_cli("run", path, "--out", tmp_path, "--no-progress") == 2
    err = capsys.readouterr().err
    assert "search_space.tokens.choices[1]: tokens: must be <= seq_len (16), got 64" in err
    assert not (tmp_path / "lat").exists()


def test_a_failing_trial_records_its_reason(study_file, tmp_path):
    # tokens 8 and 64 are fine alone, but seq_len 32 comes from another axis
    path = study_file(workload={"network": "minilm-l6", "seq_len": 128}, n_trials=6,
                      sampler="grid",
                      search_space={"tokens": {"choices": [8, 64]},
                                    "seq_len": {"choices": [32, 128]}})
    run_cli("run", path, "--out", tmp_path, "--no-progress")
    trials = pd.read_csv(tmp_path / "lat" / "trials.csv")
    failed = trials[trials["state"] == "FAIL"]
    assert len(failed) >= 1
    assert failed["reason"].str.contains("tokens: must be <= seq_len").all()
    assert (trials[trials["state"] == "COMPLETE"]["tokens"] <= 32).any()


def test_pareto_rebuilds_from_storage(study_file, tmp_path):
    path, out = study_file(n_trials=4), tmp_path / "r"
    run_cli("run", path, "--out", out, "--no-progress")
    (out / "lat" / "pareto.csv").unlink()
    assert run_cli("pareto", path, "--out", out) == 0
    assert (out / "lat" / "pareto.csv").is_file()


def test_pick_writes_a_design_point(study_file, tmp_path, capsys):
    path, out = study_file(n_trials=6), tmp_path / "r"
    run_cli("run", path, "--out", out, "--no-progress")
    assert run_cli("pick", path, "--out", out, "--require", "latency_us<=1e9") == 0
    picked = yaml.safe_load((out / "lat" / "picked.yaml").read_text())
    trials = pd.read_csv(out / "lat" / "trials.csv").set_index("number")
    row = trials.loc[picked["trial"]]
    assert picked["design"]["lora"]["rank"] == row["rank"]
    assert picked["design"]["hardware"]["tokens"] == row["tokens"]
    capsys.readouterr()
    # codesign latency re-runs exactly the picked point
    assert run_cli("latency", "--config", out / "lat" / "picked.yaml", "--json") == 0
    rerun = json.loads(capsys.readouterr().out)
    assert rerun["total_ns"] / 1e3 == pytest.approx(row["latency_us"], rel=1e-9)
    assert run_cli("pick", path, "--out", out, "--require", "latency_us<=0") == 1
    assert "closest trials" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["run", "missing.yaml"], "study: file not found"),
    (["pareto", "{study}", "--out", "{tmp}/none"], "has not been run yet"),
    (["pick", "{study}", "--out", "{tmp}", "--require", "speed<=1"], "unknown metric 'speed'"),
    (["run", "{study}", "--set", "hardware.pmca.tcdm_kib=0"],
     "hardware.pmca.tcdm_kib: must be >= 1, got 0"),
    (["run", "{study}", "--n-trials", "0"], "--n-trials must be a positive integer"),
    (["run", "{study}", "--storage", "postgresql://user:hunter2@127.0.0.1:1/db", "--out", "{tmp}"],
     "cannot open postgresql://user:***@127.0.0.1:1/db"),
    (["run", "{study}", "--storage", "redis://x", "--out", "{tmp}"], "--storage: expected"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, study_file, tmp_path, capsys):
    study = study_file()
    code = exit_code([a.format(study=study, tmp=tmp_path) for a in args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "hunter2" not in err


def exit_code(args) -> int:
    """main()'s exit code, whether it returns it or argparse raises SystemExit."""
    try:
        return main(args)
    except SystemExit as exc:
        return exc.code


def test_study_api_counts_exactly(tmp_path):
    loaded = load_study(_write(tmp_path, LATENCY_STUDY))
    summary = run_study(loaded, tmp_path, n_trials=4, progress=False)
    assert summary.total == 4 and summary.added == 4
    con = sqlite3.connect(tmp_path / "lat" / "study.db")
    assert con.execute("select count(*) from trials").fetchone()[0] == 4


def _write(tmp_path, data):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_unknown_network_is_refused(study_file, tmp_path, capsys):
    path = study_file(workload={"network": "gpt-99"})
    code = run_cli("run", path, "--out", tmp_path, "--no-progress")
    assert code == 2
    assert "gpt-99" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # study.ask() leaves a RUNNING trial
def test_the_trial_count_query_agrees_with_optunas_public_api(tmp_path):
    """tally's one COUNT query reads Optuna's own tables: it must count as Optuna does."""
    import optuna

    from codesign.storage import default_url
    from codesign.study import (close_storage, count_states, count_states_sql, make_storage,
                                tally)

    storage = make_storage(default_url(tmp_path, "count"))
    study = optuna.create_study(study_name="count", storage=storage)

    def objective(trial):
        x = trial.suggest_int("x", 0, 5)
        if x == 0:
            raise optuna.TrialPruned()
        if x == 1:
            raise ValueError("a failing trial")
        return float(x)

    for x in (0, 1, 2, 5):  # pruned, failed, complete, complete
        study.enqueue_trial({"x": x})
    study.optimize(objective, n_trials=4, catch=(ValueError,), gc_after_trial=False)
    study.enqueue_trial({"x": 3})  # a WAITING trial
    study.ask()                    # a RUNNING one (the enqueued trial is taken first)
    study.enqueue_trial({"x": 4})
    study.enqueue_trial({"x": 5}, user_attrs={"sibling_of": 2})   # a sibling: not counted
    study.enqueue_trial({"x": 2}, user_attrs={"promotes": 2})     # a promotion: not counted
    sid = storage.get_study_id_from_name("count")
    sql = count_states_sql(storage, sid)
    public = count_states(study)
    counted = tally(study, storage, sid)["counted"]
    close_storage(storage)
    assert sql == public
    assert {k: v for k, v in public.items() if ":" not in k} == {
        "COMPLETE": 2, "PRUNED": 1, "RUNNING": 1, "WAITING": 3, "FAIL": 1}
    assert public["uncounted:WAITING"] == 2 and sum(
        v for k, v in public.items() if k.startswith("uncounted:")) == 2
    assert counted == 2 + 1 + 1 + 1
