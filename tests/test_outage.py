"""A database outage and a full disk (issue 20, item 3): workers ride out a server restart, stop
with one line after a longer outage, and a full disk is one line naming the path; in every case
the study keeps its trials and a re-run completes it to exactly n_trials.

The PostgreSQL tests start their OWN throwaway server on a free loopback port (never the shared
one of CODESIGN_TEST_POSTGRES_URL) and skip without PostgreSQL's binaries; the disk-full test
mounts a small tmpfs and skips without root (or where mounting is not allowed)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import optuna
import pytest
import yaml

from codesign.outage import backoff, is_disk_full, is_transient, retry, StorageUnavailable

STUDY = {"name": "outage", "sampler": "random", "n_trials": 16,
         "workload": {"network": "minilm-l6", "seq_len": 64},
         "search_space": {"rank": {"choices": [1, 2, 4, 8, 16]},
                          "tokens": {"choices": [8, 16, 32, 64]}},
         "objectives": [{"name": "latency_us"}, {"name": "adapter_params"}]}


def test_backoff_grows_and_is_capped():
    assert [backoff(i) for i in range(6)] == [0.5, 1, 2, 4, 8, 8]


def test_retry_gives_up_after_its_budget_with_one_line_and_passes_other_errors():
    import sqlalchemy.exc

    calls = []

    def down():
        calls.append(1)
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception(
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused"))

    slept = []
    with pytest.raises(StorageUnavailable) as err:
        retry(down, "--storage: x", outage_s=4, sleep=slept.append)
    assert "did not answer for 4 s" in str(err.value) and "\n" not in str(err.value)
    assert slept == [0.5, 1, 2] and len(calls) == 4
    with pytest.raises(ValueError):                      # not a database outage: no retry
        retry(lambda: (_ for _ in ()).throw(ValueError("bad")), "x", sleep=slept.append)
    missing = sqlalchemy.exc.OperationalError("SELECT", {}, Exception("no such table: trials"))
    assert not is_transient(missing)                     # a real error is not waited out
    full = sqlalchemy.exc.OperationalError("INSERT", {}, Exception("database or disk is full"))
    assert is_disk_full(full) and not is_transient(full)


# --- a PostgreSQL server of this test's own -------------------------------------------------

def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else (
        os.path.dirname(shutil.which("pg_ctl")) if shutil.which("pg_ctl") else None)


class OwnServer:
    def __init__(self, data, port):
        self.bin, self.data, self.port = _pg_bin(), str(data), port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _as_pg(self, *args):
        cmd = [os.path.join(self.bin, args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb refuses root: as the postgres user, as .ci/postgres.sh
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{args[0]}: {done.stdout}{done.stderr}"

    def init(self):
        os.makedirs(self.data, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
        self._as_pg("initdb", "-D", self.data, "-U", "postgres", "--auth=trust")

    def start(self):
        self._as_pg("pg_ctl", "-D", self.data, "-l", f"{self.data}/log", "-w", "-o",
                    f"-h 127.0.0.1 -p {self.port} -k /tmp", "start")

    def stop(self):
        self._as_pg("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def restart(self):  # (pg_ctl restart would hand the server our output pipe)
        self.stop()
        self.start()


@pytest.fixture
def own_pg(tmp_path_factory):
    if _pg_bin() is None:
        pytest.skip("PostgreSQL's binaries (initdb, pg_ctl) are not installed")
    if os.geteuid() == 0:
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres user to run the server")
    with socket.socket() as s:            # a free loopback port, never the shared server's
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # outside pytest's folders (root's are closed to the postgres user)
    home = tempfile.mkdtemp(prefix="codesign-test-pg-")
    os.chmod(home, 0o755)
    server = OwnServer(os.path.join(home, "data"), port)
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            server.stop()
        except AssertionError:
            pass
        shutil.rmtree(home, ignore_errors=True)


def _worker(path, out, url, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "codesign", "run", str(path), "--out", str(out), "--no-progress",
         "--storage", url, "--heartbeat-s", "1", *map(str, extra)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _states(url):
    try:
        study = optuna.load_study(study_name="outage", storage=url)
    except Exception:  # not created yet, or the server is away
        return []
    return [t.state.name for t in study.trials]


def _wait_for(predicate, timeout=120.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def _rerun_completes_exactly(path, out, url, n):
    proc = _worker(path, out, url)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    seen = _states(url)
    assert seen.count("COMPLETE") == n and "RUNNING" not in seen and "WAITING" not in seen, seen


def _one_line(err):
    return err.strip() and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_workers_ride_out_a_server_restart(tmp_path, own_pg):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    procs = [_worker(path, tmp_path / "out", own_pg.url, "--min-trial-s", 0.5)
             for _ in range(2)]
    assert _wait_for(lambda: _states(own_pg.url).count("COMPLETE") >= 3)
    own_pg.restart()                                    # every connection is dropped
    outputs = [p.communicate(timeout=240) for p in procs]
    for p, (_, err) in zip(procs, outputs):             # continue, or stop with one line
        assert (p.returncode == 0 and err.strip() == "") or (p.returncode == 2
                                                            and _one_line(err)), err
    assert [p.returncode for p in procs].count(0) >= 1, [e for _, e in outputs]
    _rerun_completes_exactly(path, tmp_path / "out", own_pg.url, 16)


def test_a_long_outage_stops_workers_with_one_line_and_a_rerun_completes(tmp_path, own_pg):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    procs = [_worker(path, tmp_path / "out", own_pg.url, "--min-trial-s", 0.5, "--outage-s", 3)
             for _ in range(2)]
    assert _wait_for(lambda: _states(own_pg.url).count("COMPLETE") >= 3)
    own_pg.stop()
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 2 and _one_line(err), err
        assert "the database did not answer for 3 s" in err and "run the same command" in err
    own_pg.start()
    _rerun_completes_exactly(path, tmp_path / "out", own_pg.url, 16)


# --- a full disk ---------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    # 16 MiB: SQLite's write-ahead log alone grows to 4 MiB before it is folded into the file
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(mnt, leave_kib):
    """A new filler file taking all but ``leave_kib`` KiB of the free space."""
    free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize // 1024
    with open(mnt / f"filler-{len(list(mnt.glob('filler-*')))}", "wb") as fh:
        try:
            fh.write(b"\0" * max(0, free - leave_kib) * 1024)
        except OSError:
            pass


def _run(path, out, *extra):
    return subprocess.run([sys.executable, "-m", "codesign", *extra[:1], str(path), "--out",
                           str(out), *map(str, extra[1:])], capture_output=True, text=True,
                          timeout=240)


def test_a_full_disk_is_one_line_and_the_study_survives(tmp_path, small_disk):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    out, db = small_disk / "out", small_disk / "out" / "outage" / "study.db"
    url = f"sqlite:///{db}"
    assert _run(path, out, "run", "--no-progress", "--n-trials", 5).returncode == 0
    _fill(small_disk, leave_kib=200)                    # the disk fills during the run
    done = _run(path, out, "run", "--no-progress", "--n-trials", 400, "--heartbeat-s", 1)
    assert done.returncode == 2 and _one_line(done.stderr), ("filling", done.stderr)
    assert "no space left on the device" in done.stderr and str(db) in done.stderr
    _fill(small_disk, leave_kib=0)                      # full: a re-run and pareto
    for args in (("run", "--no-progress", "--n-trials", 400), ("pareto",)):
        done = _run(path, out, *args)
        assert done.returncode == 2 and _one_line(done.stderr), (args, done.stdout, done.stderr)
        assert "no space left on the device" in done.stderr and str(out) in done.stderr
    for filler in small_disk.glob("filler-*"):
        filler.unlink()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)   # (SQLite needs room to read it)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    con.close()
    held = _states(url).count("COMPLETE")
    assert held >= 5                                     # nothing finished was lost
    target = held + 20
    done = _run(path, out, "run", "--no-progress", "--n-trials", target, "--heartbeat-s", 1)
    assert done.returncode == 0, done.stderr
    seen = _states(url)
    assert seen.count("COMPLETE") == target and "RUNNING" not in seen and "WAITING" not in seen
