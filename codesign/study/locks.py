"""The workers' lock around "count trials, then create one" (and the ledger's "look up, then claim").

A file lock beside a SQLite database; a PostgreSQL advisory lock for a shared server. Other
backends get no lock (the trial count may then overshoot by one per extra worker).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from pathlib import Path
from typing import Callable, Iterator

from codesign.outage import OUTAGE_S, retry
from codesign.storage import redact, sqlite_path


class SlotLock:
    """A held lock that can be released early (once the new trial exists) and again safely."""

    def __init__(self, release: Callable[[], object]):
        self._release: Callable[[], object] | None = release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


@contextlib.contextmanager
def trial_slot_lock(storage_url: str, study_name: str,
                    outage_s: float = OUTAGE_S) -> Iterator[SlotLock]:
    """Serialise "count trials, then create one" among the workers of one study (see the
    module's docstring). The lock is released when the block ends, or earlier by
    ``lock.release()``."""
    if storage_url.startswith("sqlite:///"):
        lock_path = Path(f"{sqlite_path(storage_url)}.{study_name}.lock")
        with open(lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            lock = SlotLock(lambda: fcntl.flock(fh, fcntl.LOCK_UN))
            try:
                yield lock
            finally:
                lock.release()
    elif storage_url.startswith("postgresql"):
        with _advisory_lock(storage_url, study_name, outage_s) as lock:
            yield lock
    else:
        yield SlotLock(lambda: None)


@contextlib.contextmanager
def _advisory_lock(storage_url: str, study_name: str, outage_s: float) -> Iterator[SlotLock]:
    """A PostgreSQL advisory lock keyed by the study's name, on a connection of its own (taken
    again after an outage of up to ``outage_s`` seconds)."""
    import sqlalchemy

    key = int(hashlib.sha256(study_name.encode()).hexdigest()[:15], 16)
    engine = sqlalchemy.create_engine(storage_url, poolclass=sqlalchemy.pool.NullPool,
                                      connect_args={"connect_timeout": 10})

    def locked():
        conn = engine.connect()
        try:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
        except BaseException:
            conn.close()
            raise
        return conn

    def unlock(conn) -> None:
        # a connection the server dropped has released its lock already
        with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
            conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    try:
        conn = retry(locked, f"--storage: {redact(storage_url)}", outage_s)  # an outage
        try:
            lock = SlotLock(lambda: unlock(conn))
            try:
                yield lock
            finally:
                lock.release()
        finally:
            with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
                conn.close()
    finally:
        engine.dispose()
