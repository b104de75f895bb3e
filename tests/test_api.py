"""The public Python API (``import codesign``): a latency-only study from a dict, run in memory, read
as DataFrames and drawn on matplotlib Axes; errors name arguments and fields; nothing global changes.

No mock anywhere: Optuna, the SimPy hardware model and SQLite run for real (a latency-only trial of
MiniLM-L6 at 64 tokens takes a few milliseconds).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import codesign
from codesign.errors import InputError

ROOT = Path(__file__).resolve().parent.parent

FACADE = ["load_study", "run_study", "open_study", "trials_table", "pareto_table", "plot_pareto",
          "evaluate_point", "StoredStudy", "InputError"]

STUDY = {
    "name": "api-demo",
    "sampler": "random",
    "n_trials": 10,
    "seed": 3,
    "workload": {"network": "minilm-l6", "seq_len": 64},
    "search_space": {"lora.rank": {"choices": [1, 8, 32]}, "hardware.tokens": {"choices": [1, 8, 32]}},
    "objectives": [{"name": "latency_us"}, {"name": "adapter_params"}],
}


@pytest.fixture(scope="module")
def stored():
    return codesign.run_study(codesign.load_study(STUDY))


def test_all_lists_the_facade_and_every_public_function_has_a_docstring():
    from codesign import _api

    assert set(FACADE) <= set(codesign.__all__)
    assert all(hasattr(codesign, name) for name in codesign.__all__)
    for name in _api.__all__:
        doc = getattr(codesign, name).__doc__ or ""
        assert len(doc.strip()) > 80, name
        if name != "StoredStudy":
            assert "Args:" in doc and "Returns:" in doc, name


# the script a fresh interpreter runs: third-party packages imported first (their own import-time
# set-up is theirs), then the state is recorded before and after `import codesign` and a run
_SCRIPT = r"""
import json, logging, os, sys, warnings
import matplotlib.figure, numpy, optuna, pandas, simpy, sqlalchemy, tqdm, yaml

def state():
    out = {"warnings": [repr(f) for f in warnings.filters], "environ": dict(os.environ),
           "files": sorted(os.listdir("."))}
    for name in ("", "optuna", "codesign", "hw_models"):
        log = logging.getLogger(name)
        out[f"logger[{name}]"] = [log.level, log.propagate, log.disabled,
                                  [(type(h).__name__, id(h), h.level) for h in log.handlers],
                                  [repr(f) for f in log.filters]]
    out["optuna_verbosity"] = optuna.logging.get_verbosity()
    return out

before = state()
import codesign
after_import = state()
study = codesign.load_study(json.loads(sys.argv[1]))
stored = codesign.run_study(study)
table = codesign.trials_table(stored)
front = codesign.pareto_table(stored)
ax = codesign.plot_pareto(stored)
after_run = state()
print(json.dumps({
    "before": before, "after_import": after_import, "after_run": after_run,
    "storage": stored.storage, "added": stored.added, "table_type": type(table).__name__,
    "rows": len(table), "states": sorted(set(table["state"])), "columns": list(table.columns),
    "front_rows": len(front), "axes_type": type(ax).__name__,
    "points": sum(len(c.get_offsets()) for c in ax.collections)}))
"""


def test_facade_end_to_end_in_memory_changes_no_global_state(tmp_path):
    """A latency-only study from a dict, in memory (no file written), DataFrames and Axes; the
    root and optuna loggers (levels, handlers, filters), warnings.filters and the environment are
    the same after `import codesign` and after the run as before."""
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(STUDY)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["before"] == out["after_import"]
    assert out["before"] == out["after_run"]
    assert out["before"]["files"] == []                      # in memory: no database, no lock
    assert out["storage"].startswith("inmemory://")
    assert out["added"] == out["rows"] == STUDY["n_trials"] and out["states"] == ["COMPLETE"]
    assert out["table_type"] == "DataFrame" and out["axes_type"] == "Axes"
    assert {"number", "state", "rank", "tokens", "latency_us", "adapter_params"} <= set(out["columns"])
    assert 1 <= out["front_rows"] <= out["rows"]
    assert out["points"] == out["rows"]                    # every trial drawn once
    assert "Trial 0 finished" not in proc.stderr            # Optuna's INFO lines held back


def test_import_codesign_imports_no_heavy_package():
    code = ("import sys, codesign; print([m for m in ('optuna', 'pandas', 'matplotlib', 'torch', "
            "'sqlalchemy') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-1000:]
    assert proc.stdout.strip() == "[]"


def test_front_is_the_non_dominated_trials(stored):
    table = codesign.trials_table(stored)
    front = codesign.pareto_table(stored)
    keys = ["latency_us", "adapter_params"]
    points = table[keys].to_numpy()

    def dominated(p):
        return any((q <= p).all() and (q < p).any() for q in points)

    on_front = {int(n) for n, p in zip(table["number"], points) if not dominated(p)}
    assert set(front["number"]) == on_front
    assert list(front.columns) == list(table.columns)


def test_plot_pareto_draws_into_a_given_axes_and_mirrors_on_request(stored):
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    assert codesign.plot_pareto(stored, ax) is ax
    assert ax.get_xlabel().startswith("latency_us") and ax.get_ylabel().startswith("adapter_params")
    drawn = sorted((round(x, 6), round(y, 6)) for c in ax.collections for x, y in c.get_offsets())
    mirrored = codesign.plot_pareto(stored, x="adapter_params")
    assert mirrored.get_xlabel().startswith("adapter_params")
    swapped = sorted((round(y, 6), round(x, 6)) for c in mirrored.collections
                     for x, y in c.get_offsets())
    assert swapped == drawn
    table = codesign.trials_table(stored)
    assert drawn == sorted((round(x, 6), round(y, 6))
                           for x, y in zip(table["latency_us"], table["adapter_params"]))


def test_a_stored_study_grows_in_the_same_memory(stored):
    more = codesign.run_study(stored, n_trials=STUDY["n_trials"] + 3)
    assert more.storage == stored.storage and more.added == 3
    assert len(codesign.trials_table(more)) == STUDY["n_trials"] + 3
    assert codesign.run_study(codesign.load_study(STUDY), n_trials=2).storage != stored.storage


def _logging_state() -> list:
    import logging
    import warnings

    loggers = [logging.getLogger(name) for name in ("", "optuna")]
    return [[(log.level, list(log.handlers), list(log.filters)) for log in loggers],
            list(warnings.filters)]


def test_a_sqlite_study_from_python_is_read_back_by_open_study(tmp_path):
    """A database storage from Python: opening it sets no log level (the CLI does, at its edge)."""
    import optuna  # noqa: F401  (its import-time logging set-up first)

    state = _logging_state()
    url = f"sqlite:///{tmp_path / 'api.db'}"
    with codesign.run_study(STUDY, storage=url, n_trials=4) as ran:
        assert ran.added == 4
    before = (tmp_path / "api.db").read_bytes()
    with codesign.open_study(STUDY, storage=url) as opened:
        assert list(codesign.trials_table(opened)["number"]) == [0, 1, 2, 3]
    assert (tmp_path / "api.db").read_bytes() == before      # reading changes nothing
    with pytest.raises(InputError, match=r"^storage: no study 'other'"):
        codesign.open_study({**STUDY, "name": "other"}, storage=url)
    assert _logging_state() == state


def test_overrides_as_strings_or_a_mapping():
    a = codesign.load_study(STUDY, ["hardware.pmca.tcdm_kib=256"])
    b = codesign.load_study(STUDY, {"hardware.pmca.tcdm_kib": 256})
    assert a.config.hardware.pmca.tcdm_kib == b.config.hardware.pmca.tcdm_kib == 256
    assert codesign.load_study(a) is a


def test_evaluate_point_is_the_hardware_model(tmp_path):
    import hw_models

    metrics = codesign.evaluate_point({"lora": {"rank": 8}, "workload": {"network": "minilm-l6",
                                                                         "seq_len": 64}})
    report = hw_models.evaluate_network(hw_models.load_network("minilm-l6"),
                                        hw_models.HardwareSpec(), hw_models.LoraSpec(rank=8),
                                        seq_len=64)
    assert metrics["latency_us"] == pytest.approx(report.total_ns / 1e3, rel=1e-12)
    assert metrics["adapter_params"] == report.adapter_params
    study = codesign.load_study(STUDY)
    assert codesign.evaluate_point(study) == codesign.evaluate_point(study.config.design)


@pytest.mark.parametrize("call, message", [
    (lambda: codesign.run_study(STUDY, storage=""), r"^storage: empty URL"),
    (lambda: codesign.run_study(STUDY, storage="redis://x"), r"^storage: expected sqlite"),
    (lambda: codesign.run_study(STUDY, storage=3), r"^storage: expected a URL string"),
    (lambda: codesign.run_study(STUDY, n_trials=0), r"^n_trials: must be an integer from 1"),
    (lambda: codesign.run_study(STUDY, heartbeat_s=True), r"^heartbeat_s: "),
    (lambda: codesign.open_study(STUDY, storage="sqlite:////nonexistent/x.db"),
     r"^storage: no database /nonexistent/x.db"),
    (lambda: codesign.load_study(42), r"^study: expected a path"),
    (lambda: codesign.load_study({"name": "x"}), r"^search_space: "),
    (lambda: codesign.load_study(STUDY, ["novalue"]), r"^overrides: expected KEY.PATH=VALUE"),
    (lambda: codesign.load_study(STUDY, "a=1"), r"^overrides: expected a list"),
    (lambda: codesign.load_study({**STUDY, "objectives": [{"name": "speed"}]}),
     r"^objectives\[0\]\.name: unknown objective 'speed'"),
    (lambda: codesign.evaluate_point({"hardware": {"aimc": {"adc_bits": 99}}}),
     r"^hardware\.aimc\.adc_bits: "),
    (lambda: codesign.evaluate_point({"lora": {"rnk": 8}}), r"lora.*rnk"),
    (lambda: codesign.evaluate_point([1]), r"^point: expected"),
    (lambda: codesign.trials_table("api-demo"), r"^study: expected what codesign.run_study"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_errors_name_arguments_and_fields_not_flags(call, message):
    with pytest.raises(InputError, match=message) as info:
        call()
    assert "--" not in str(info.value) and "\n" not in str(info.value)


def test_plot_errors_name_the_argument(stored):
    with pytest.raises(InputError, match=r"^x: 'energy_uj' is no objective"):
        codesign.plot_pareto(stored, x="energy_uj")
    with pytest.raises(InputError, match=r"^x, y: give two different objectives"):
        codesign.plot_pareto(stored, x="latency_us", y="latency_us")
    with pytest.raises(InputError, match=r"^color_by: 'adc_bits' is no parameter"):
        codesign.plot_pareto(stored, color_by="adc_bits")


def test_the_command_line_still_refuses_an_in_memory_storage(tmp_path, capsys):
    from codesign.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(STUDY))  # JSON is YAML
    assert main(["run", str(path), "--storage", "sqlite:///:memory:", "--out",
                 str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--storage: 'sqlite:///:memory:' is an in-memory database" in err
    assert "when the command ends" in err


def test_hw_models_builds_the_plans_network_latency_takes():
    import hw_models

    net = hw_models.load_network("minilm-l6")
    hw, lora = hw_models.HardwareSpec(tokens=8), hw_models.LoraSpec(rank=8)
    plan = hw_models.plan_network(net, hw, lora, seq_len=64)
    assert isinstance(plan, hw_models.Plan) and plan.chunks == 8
    report = hw_models.evaluate_network(net, hw, lora, seq_len=64)
    assert hw_models.network_latency(plan, "des") == pytest.approx(report.total_ns, rel=1e-12)
    layer = hw_models.plan_layer(512, 128, hw, 8, seq_len=64)
    assert layer.chunks == 8 and layer.blocks == 0 and len(layer.prologue) == 1
    closed = hw_models.network_latency(layer, "closed_form")
    des = hw_models.network_latency(layer, "des")
    assert closed > 0 and des >= closed * (1 - 1e-9)
    with pytest.raises(hw_models.SpecError, match=r"^m: must be a positive integer"):
        hw_models.plan_layer(0, 128, hw, 8)
    with pytest.raises(hw_models.SpecError, match=r"^tokens: must be <= seq_len"):
        hw_models.plan_layer(512, 128, hw, 8, seq_len=4)


def test_the_readme_python_example_runs(tmp_path):
    """The README's "Python API" example, as written, in a fresh interpreter (no file written)."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Python API"):]
    code = section[section.index("```python\n") + 10:section.index("\n```", section.index("```python"))]
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "latency_us" in proc.stdout and list(tmp_path.iterdir()) == []


def test_the_accuracy_models_process_settings_are_put_back(monkeypatch):
    """What the accuracy model sets for the whole process while it runs (engine.build:
    HF_HUB_OFFLINE; models: HF_HUB_DISABLE_TELEMETRY; CODESIGN_TORCH_THREADS) is undone after a
    Python call, exactly as the model sets it (its own functions, called inside the guard)."""
    import os

    import torch

    from codesign._api import _settings_restored
    from codesign.accuracy import engine

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("CODESIGN_TORCH_THREADS", "1")
    monkeypatch.setenv("CODESIGN_API_PROBE", "before")
    original = torch.get_num_threads()
    torch.set_num_threads(2)                               # a count the model changes
    try:
        with _settings_restored(torch_threads=True):
            os.environ.setdefault("HF_HUB_OFFLINE", "1")    # as engine.build does
            os.environ["CODESIGN_API_PROBE"] = "during"
            engine._threads()                              # torch.set_num_threads(1)
            assert torch.get_num_threads() == 1
        assert "HF_HUB_OFFLINE" not in os.environ
        assert os.environ["CODESIGN_API_PROBE"] == "before"
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(original)
