"""A study's Optuna storage: opening it (SQLite or PostgreSQL, heartbeats, retry), closing it.

SQLite files are switched to write-ahead logging (several local workers), PostgreSQL connections
get a connect timeout and, for readers, read-only transactions. Every storage rides out a database
outage (:mod:`codesign.outage`).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from codesign.errors import InputError
from codesign.outage import OUTAGE_S, DiskFull, disk_full_message, is_disk_full, no_space_left
from codesign.storage import (check_url, is_memory, is_sqlite, memory_storage,
                              readonly_url, redact, sqlite_path)
from codesign.study.heartbeats import MAX_RETRY, experimental_ok

_SCHEMA_RACE = re.compile(r"already exists|duplicate key|UniqueViolation|UNIQUE constraint failed|"
                          r"database is locked", re.I)


@experimental_ok()
def make_storage(url: str, heartbeat_s: int = 10, grace_s: int = 30, max_retry: int = MAX_RETRY,
                 readonly: bool = False, retry: bool = True, outage_s: float = OUTAGE_S):
    """Optuna RDB storage with heartbeats and failed-trial retry; InputError if unreachable.

    ``readonly``: for commands that only read a study: SQLite opens the file read-only (nothing
    created, converted or written), PostgreSQL runs read-only transactions, no heartbeat runs.
    ``retry=False``: a stale trial is only marked failed (the training ledger's claims: the
    setting is claimed again by whoever needs it). Every call rides out a database outage of up
    to ``outage_s`` seconds (:mod:`codesign.outage`). A :func:`codesign.storage.memory_url`: that
    in-memory storage (Python calls only; no heartbeat)."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    if is_memory(url):
        return memory_storage(url)
    check_url(url, must_exist=readonly)
    if is_sqlite(url) and not readonly:
        _prepare_sqlite(sqlite_path(url))
    live: dict[str, Any] = {} if readonly else {
        "heartbeat_interval": heartbeat_s, "grace_period": grace_s,
        "heartbeat_stale_trial_callback": (RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
                                           if retry else None)}
    for attempt in range(5):
        try:
            return _open(url, readonly, live, outage_s)
        except ModuleNotFoundError as exc:
            raise InputError(f"--storage: the driver for {redact(url)} is not installed "
                             f"({exc.name}); for PostgreSQL: pip install 'psycopg[binary]'") from None
        except Exception as exc:  # sqlalchemy.exc.OperationalError and friends
            lines = str(getattr(exc, "orig", exc)).strip().splitlines()
            reason = redact(lines[0] if lines else type(exc).__name__, url)
            if _SCHEMA_RACE.search(reason) and attempt < 4:
                time.sleep(0.5 + attempt)  # another worker is creating the schema right now
                continue
            raise _open_error(url, exc, reason, readonly) from None
    raise AssertionError("unreachable")


def _open(url: str, readonly: bool, live: dict[str, Any], outage_s: float):
    from codesign.outage import RetryingRDBStorage

    storage = RetryingRDBStorage(
        readonly_url(url) if readonly else url,
        engine_kwargs={"pool_pre_ping": True,
                       **({"connect_args": _pg_connect_args(readonly)}
                          if url.startswith("postgresql") else {})},
        **live)
    if is_sqlite(url) and not readonly:
        _relax_sqlite_sync(storage.engine)
    storage.where, storage.outage_s = f"--storage: {redact(url)}", outage_s
    return storage


def _open_error(url: str, exc: Exception, reason: str, readonly: bool) -> Exception:
    """The one-line error of a storage that could not be opened."""
    if is_disk_full(exc) or (is_sqlite(url) and no_space_left(sqlite_path(url).parent)):
        return DiskFull(disk_full_message("--storage", sqlite_path(url) if is_sqlite(url)
                                          else redact(url)))
    if "password" in reason.lower():
        reason = "authentication failed"
    if readonly and "readonly" in reason.replace("-", "").replace(" ", "").lower():
        reason = "it holds no codesign study (reading never adds Optuna's tables)"
    return InputError(f"--storage: cannot open {redact(url)}: {reason}")


def _pg_connect_args(readonly: bool) -> dict[str, Any]:
    """PostgreSQL: a connect timeout; for readers, read-only transactions (the server refuses any
    write, so reading a database that holds no study cannot add Optuna's tables to it)."""
    return {"connect_timeout": 10,
            **({"options": "-c default_transaction_read_only=on"} if readonly else {})}


def _prepare_sqlite(path: Path) -> None:
    """Create the folder and switch the database to write-ahead logging (persistent in the file):
    readers no longer block the writer, which several local workers need."""
    import sqlite3

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=30)
        try:
            _switch_to_wal(con)
        finally:
            con.close()
    except (OSError, sqlite3.Error) as exc:  # a read-only file or file system, a full disk...
        if is_disk_full(exc) or no_space_left(path.parent):
            raise DiskFull(disk_full_message("--storage", path)) from None
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"--storage: cannot write {path}: {reason} (a study that is only read "
                         f"needs no write access: codesign pareto/pick/plot/report)") from None


def _switch_to_wal(con, wait_s: float = 30.0) -> None:
    """``PRAGMA journal_mode=WAL`` on ``con``, waiting up to ``wait_s`` seconds for other workers.

    Switching the journal mode needs the file to itself, and SQLite answers "database is locked"
    at once (without its busy timeout) while another process opens or switches the same new
    file; several workers starting a study together hit that, so the switch is retried. A file
    already in WAL mode (the mode is kept in the file) needs no switch."""
    import sqlite3

    deadline = time.monotonic() + wait_s
    delay = 0.01
    while True:
        try:
            if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(2 * delay, 0.5)


def _relax_sqlite_sync(engine) -> None:
    """synchronous=NORMAL on every connection: in WAL mode a commit survives any process crash (a
    killed worker loses nothing) and is only at risk on power loss; it saves an fsync per write,
    which is most of a latency-only trial's time."""
    import sqlalchemy

    def on_connect(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    sqlalchemy.event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections opened before the listener are replaced


def close_storage(storage) -> None:
    """Close the pooled connections of a storage made by :func:`make_storage` (SQLite then folds
    its write-ahead log into the database file, so the file alone is the complete study)."""
    engine = getattr(storage, "engine", None)
    if engine is not None:
        engine.dispose()


def storage_error(url: str, storages: tuple, exc: Exception) -> Exception | None:
    """What a worker loop that stopped with ``exc`` reports in one line: an outage longer than
    the storages wait (:class:`StorageUnavailable`), a full disk (:class:`DiskFull`); None for
    any other error (raised as it is)."""
    from codesign.outage import StorageUnavailable

    for store in storages:
        gave_up = getattr(store, "gave_up", None)
        if gave_up is not None:
            return StorageUnavailable(str(gave_up))
    if isinstance(exc, (StorageUnavailable, DiskFull)):
        return exc
    if is_disk_full(exc) or (is_sqlite(url) and no_space_left(sqlite_path(url).parent)):
        return DiskFull(disk_full_message("--storage", sqlite_path(url) if is_sqlite(url)
                                          else redact(url)))
    return None
