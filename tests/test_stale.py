"""RUNNING trials and ledger claims that never sent a heartbeat (their worker died first) go stale
after the grace period from their start, instead of making the next worker wait for ever."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading

import optuna
import pytest
import yaml

from codesign.stale import is_silent

STUDY = {"name": "silent", "sampler": "random", "n_trials": 2,
         "workload": {"network": "minilm-l6", "seq_len": 64},
         "search_space": {"rank": {"choices": [1, 2, 4]}, "tokens": {"choices": [8, 16]}},
         "objectives": [{"name": "latency_us"}, {"name": "adapter_params"}]}


def test_is_silent_counts_the_grace_period_from_the_start():
    start = dt.datetime(2026, 1, 1, 12, 0, 0)
    assert not is_silent(start, start + dt.timedelta(seconds=30), 30)
    assert is_silent(start, start + dt.timedelta(seconds=31), 30)
    assert not is_silent(None, start, 30)


def _run(path, out, *extra):
    return subprocess.run([sys.executable, "-m", "codesign", "run", str(path), "--out", str(out),
                           "--no-progress", "--heartbeat-s", "1", *extra],
                          capture_output=True, text=True, timeout=90)


def test_a_trial_without_any_heartbeat_is_failed_and_retried_not_waited_for(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    out = tmp_path / "out"
    assert _run(path, out).returncode == 0
    url = f"sqlite:///{out / 'silent' / 'study.db'}"
    orphan = optuna.load_study(study_name="silent", storage=url).ask()  # RUNNING, never beats
    done = _run(path, out, "--n-trials", "3")  # hung for ever before: waited for the orphan
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="silent", storage=url)
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") == 3 and states.count("FAIL") == 1, states
    failed = study.trials[orphan.number]
    assert failed.state.name == "FAIL"
    retry = [t for t in study.trials if t.system_attrs.get("failed_trial") == orphan.number]
    assert len(retry) == 1 and retry[0].state.name == "COMPLETE"


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # study.ask() makes the orphan
def test_a_ledger_claim_without_any_heartbeat_expires(tmp_path):
    from codesign.config.search import SearchSettings
    from codesign.study.ledger import Ledger
    from codesign.study import close_storage, make_storage, trial_slot_lock

    url = f"sqlite:///{tmp_path / 'l.db'}"
    storage = make_storage(url, heartbeat_s=1, grace_s=2, retry=False)
    ledger = Ledger(storage, lambda name: trial_slot_lock(url, name), "l", "maximize",
                    SearchSettings(claim_poll_s=0.2), str(tmp_path / "artifacts"), 8)
    claim = ledger.study.ask()                  # a claim whose worker died before its first beat
    claim.set_user_attr("setting", "s")
    key_data = {"aimc": {"adc_bits": 8, "dac_bits": 8}, "lora": {"rank": 2}}
    got: list = []
    waiter = threading.Thread(target=lambda: got.append(
        ledger.train("s", key_data, lambda trial, record: 0.5)), daemon=True)
    waiter.start()
    waiter.join(timeout=30)                     # waited for ever before
    assert not waiter.is_alive() and got[0].trained_here
    trials = ledger.study.get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    assert trials[0].number == claim.number
    close_storage(storage)
