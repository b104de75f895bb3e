"""Workers sharing one storage: exact trial counts, SIGKILL recovery, resume after an interrupt.

The PostgreSQL test needs a server: CI starts one (.ci/postgres.sh) and exports
CODESIGN_TEST_POSTGRES_URL; without it that test is skipped. The others use SQLite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import optuna
import pytest
import yaml

STUDY = {
    "name": "workers",
    "sampler": "random",
    "n_trials": 8,
    "workload": {"network": "minilm-l6", "seq_len": 64},
    "search_space": {"rank": {"choices": [1, 2, 4, 8, 16]},
                     "tokens": {"choices": [8, 16, 32, 64]},
                     "integration_ns": {"choices": [128, 256, 512]}},
    "objectives": [{"name": "latency_us"}, {"name": "adapter_params"}],
}


def write_study(tmp_path, **changes):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**STUDY, **changes}))
    return path


def _default_sigint():
    # a shell that starts a job in the background (`.ci/run &`) makes it ignore SIGINT, and an
    # ignored SIGINT is inherited: give the worker the default a user's Ctrl-C meets
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def worker(path, tmp_path, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "codesign", "run", str(path), "--out", str(tmp_path / "out"),
         "--no-progress", *map(str, extra)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def states(url, name="workers"):
    study = optuna.load_study(study_name=name, storage=url)
    return study, [t.state.name for t in study.trials]


def wait_for(predicate, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def pg_url():
    base = os.environ.get("CODESIGN_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("no PostgreSQL server (set CODESIGN_TEST_POSTGRES_URL; CI starts one)")
    import sqlalchemy

    name = f"codesign_test_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.mark.postgres
def test_two_workers_on_postgres_share_one_study_exactly(tmp_path, pg_url):
    path = write_study(tmp_path, n_trials=12)
    procs = [worker(path, tmp_path, "--storage", pg_url, "--min-trial-s", 0.3) for _ in range(2)]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    study, seen = states(pg_url)
    assert seen.count("COMPLETE") == 12 and len(seen) == 12
    assert sorted(t.number for t in study.trials) == list(range(12))
    workers = {t.user_attrs["run"]["worker"] for t in study.trials}
    assert len(workers) == 2  # both did work
    assert all("codesign-test" not in out + err for out, err in outputs)  # no password printed


def test_a_killed_workers_trial_fails_and_is_retried(tmp_path):
    path = write_study(tmp_path, n_trials=3)
    url = f"sqlite:///{tmp_path / 'out' / 'workers' / 'study.db'}"
    victim = worker(path, tmp_path, "--heartbeat-s", 1, "--min-trial-s", 60)
    assert wait_for(lambda: os.path.exists(url[10:]) and "RUNNING" in _safe_states(url))
    time.sleep(1.5)  # let it beat at least once
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    survivor = worker(path, tmp_path, "--heartbeat-s", 1)
    out, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, err
    study, seen = states(url)
    assert seen.count("COMPLETE") == 3 and seen.count("FAIL") == 1
    failed = next(t for t in study.trials if t.state.name == "FAIL")
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == failed.number]
    assert len(retried) == 1 and retried[0].params == failed.params
    assert retried[0].state.name == "COMPLETE"


def test_interrupt_then_rerun_resumes(tmp_path):
    path = write_study(tmp_path, n_trials=30)  # >= 30 s of work: the interrupt lands mid-study
    url = f"sqlite:///{tmp_path / 'out' / 'workers' / 'study.db'}"
    first = worker(path, tmp_path, "--min-trial-s", 1.0)
    assert wait_for(lambda: os.path.exists(url[10:]) and _safe_states(url).count("COMPLETE") >= 1)
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=60)
    assert first.returncode != 0
    _, before = states(url)
    done_before = before.count("COMPLETE")
    assert 1 <= done_before < 30
    second = worker(path, tmp_path)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    _, after = states(url)
    assert after.count("COMPLETE") == 30
    assert after[:len(before)].count("COMPLETE") == done_before  # nothing stored was lost


def _safe_states(url):
    try:
        return states(url)[1]
    except Exception:  # the first worker is still creating the schema
        return []
