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
    _, err = first.communicate(timeout=60)
    # one line, the shell's exit status for SIGINT, and the running trial re-queued as a killed
    # worker's would be: FAIL, plus a WAITING copy with the same parameters
    assert first.returncode == 130, err
    assert err.strip().splitlines() == [err.strip()] and "Traceback" not in err, err
    assert err.startswith("codesign run: interrupted"), err
    study, before = states(url)
    done_before = before.count("COMPLETE")
    assert 1 <= done_before < 30
    if "FAIL" in before:  # the signal landed in a trial (not between two)
        failed = next(t for t in study.trials if t.state.name == "FAIL")
        waiting = [t for t in study.trials if t.state.name == "WAITING"]
        assert [t.system_attrs.get("failed_trial") for t in waiting] == [failed.number]
        assert waiting[0].params == failed.params
        assert f"trial {failed.number} re-queued" in err
    second = worker(path, tmp_path)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    _, after = states(url)
    assert after.count("COMPLETE") == 30
    assert all(a == "COMPLETE" for a, b in zip(after, before) if b == "COMPLETE")  # none lost
    assert "WAITING" not in after and "RUNNING" not in after  # the re-queued trial ran


def _safe_states(url):
    try:
        return states(url)[1]
    except Exception:  # the first worker is still creating the schema
        return []


def _stress(tmp_path, storage, n_workers, n_trials, rounds):
    """``n_workers`` processes of one study, ``rounds`` times over: each round grows the study by
    ``n_trials``; every worker exits 0 with its results written, and the count is exact."""
    path = write_study(tmp_path, n_trials=n_trials)
    for r in range(1, rounds + 1):
        target = n_trials * r
        procs = [worker(path, tmp_path, "--n-trials", target, *(("--storage", storage)
                                                                  if storage else ()))
                 for _ in range(n_workers)]
        outputs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0] * n_workers, [e for _, e in outputs]
        assert all(e.strip() == "" for _, e in outputs), [e for _, e in outputs]
        url = storage or f"sqlite:///{tmp_path / 'out' / 'workers' / 'study.db'}"
        study, seen = states(url)
        assert seen.count("COMPLETE") == target and len(seen) == target, seen
        assert sorted(t.number for t in study.trials) == list(range(target))
    folder = tmp_path / "out" / "workers"
    for name in ("trials.csv", "pareto.csv", "pareto.png", "config.yaml"):
        assert (folder / name).stat().st_size > 0
    assert [p.name for p in folder.iterdir() if ".tmp" in p.name] == []  # no temp file left


def test_four_workers_on_sqlite_all_exit_0_with_an_exact_count(tmp_path):
    _stress(tmp_path, None, n_workers=4, n_trials=4, rounds=2)


@pytest.mark.slow
def test_six_workers_on_sqlite_repeatedly(tmp_path):
    _stress(tmp_path, None, n_workers=6, n_trials=10, rounds=4)


@pytest.mark.postgres
def test_four_workers_on_postgres_all_exit_0_with_an_exact_count(tmp_path, pg_url):
    _stress(tmp_path, pg_url, n_workers=4, n_trials=4, rounds=2)


@pytest.mark.postgres
@pytest.mark.slow
def test_six_workers_on_postgres_repeatedly(tmp_path, pg_url):
    _stress(tmp_path, pg_url, n_workers=6, n_trials=10, rounds=4)


def test_a_worker_waits_for_another_one_opening_the_same_new_sqlite_file(tmp_path):
    """SQLite refuses to switch a file to WAL at once (no busy timeout) while another connection
    holds a write lock, as a second worker starting the same study does; the first worker must
    wait for it rather than stop with "database is locked" (a flake of the grid-workers test)."""
    import sqlite3
    import threading

    from codesign.study import make_storage

    path = tmp_path / "study.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the other worker is writing (creating the study)
    threading.Timer(0.5, lambda: other.execute("COMMIT")).start()
    storage = make_storage(f"sqlite:///{path}")
    assert storage.get_all_studies() == []
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    other.close()


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_an_interrupt_stops_a_heartbeat_thread_left_beating(tmp_path):
    # Optuna starts a trial's (non-daemon) heartbeat thread before the block that stops it: a
    # Ctrl-C in between left a worker unable to exit. The interrupt path stops such threads.
    from optuna.storages._heartbeat import get_heartbeat_thread

    from codesign.study import make_storage, stop_stray_heartbeats

    storage = make_storage(f"sqlite:///{tmp_path / 'hb.db'}", heartbeat_s=1)
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    beating = get_heartbeat_thread(trial._trial_id, storage)
    beating.start()                                        # ... and never joined
    assert stop_stray_heartbeats() == 1
    beating._thread.join(timeout=5)
    assert not beating._thread.is_alive()


# --- grid studies: every point exactly once, across resumes and workers ------------------------

GRID = {"name": "workers", "sampler": "grid", "n_trials": 12,
        "search_space": {"rank": {"choices": [1, 4, 16]}, "tokens": {"choices": [8, 16, 32, 64]}}}


def _points(url):
    study = optuna.load_study(study_name="workers", storage=url)
    return [tuple(sorted(t.params.items())) for t in study.trials], [t.state.name
                                                                     for t in study.trials]


def _grid_once(url):
    points, seen = _points(url)
    assert seen == ["COMPLETE"] * 12, seen
    assert len(set(points)) == 12  # the whole 3 x 4 grid, each point once
    assert {dict(p)["rank"] for p in points} == {1, 4, 16}


def _grid_resume(tmp_path, storage):
    path = write_study(tmp_path, **GRID)
    extra = ("--storage", storage) if storage else ()
    for n in (5, 9, 12):  # three runs: 5 trials, then 4 more, then the rest
        proc = worker(path, tmp_path, "--n-trials", n, *extra)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    _grid_once(storage or f"sqlite:///{tmp_path / 'out' / 'workers' / 'study.db'}")


def _grid_workers(tmp_path, storage, n_workers):
    path = write_study(tmp_path, **GRID)
    extra = ("--storage", storage) if storage else ()
    procs = [worker(path, tmp_path, "--min-trial-s", 0.3, *extra) for _ in range(n_workers)]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0] * n_workers, [e for _, e in outputs]
    url = storage or f"sqlite:///{tmp_path / 'out' / 'workers' / 'study.db'}"
    _grid_once(url)
    study = optuna.load_study(study_name="workers", storage=url)
    assert len({t.user_attrs["run"]["worker"] for t in study.trials}) >= 2  # they shared it


def test_a_resumed_grid_visits_every_point_once_on_sqlite(tmp_path):
    _grid_resume(tmp_path, None)


@pytest.mark.parametrize("n_workers", [2, 4])
def test_grid_workers_visit_every_point_once_on_sqlite(tmp_path, n_workers):
    _grid_workers(tmp_path, None, n_workers)


@pytest.mark.postgres
def test_a_resumed_grid_visits_every_point_once_on_postgres(tmp_path, pg_url):
    _grid_resume(tmp_path, pg_url)


@pytest.mark.postgres
@pytest.mark.parametrize("n_workers", [2, 4])
def test_grid_workers_visit_every_point_once_on_postgres(tmp_path, pg_url, n_workers):
    _grid_workers(tmp_path, pg_url, n_workers)
