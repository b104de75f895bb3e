"""Riding out a database outage, and naming a full disk, in one line.

A worker's storage (:class:`RetryingRDBStorage`) retries every call Optuna makes on it (creating
and reading trials, the objective's writes, telling results) while the database does not answer
(a server restart, a dropped connection, a locked SQLite file), with a growing pause
(0.5 s, 1 s, 2 s, ... at most 8 s) for at most ``outage_s`` seconds in all (default
:data:`OUTAGE_S`). Then it raises :class:`StorageUnavailable`, and every later call of that
storage fails at once (so a trial's "mark failed" does not wait a second time). A full disk is
never retried: :class:`DiskFull` names the path. Both are input errors for the CLI: one line,
exit 2; the study keeps every finished trial, and the same command resumes it.

Retrying a write whose commit reached the server just before the connection dropped can repeat
it; Optuna's writes are idempotent except creating a trial, which can then leave one extra trial
(counted like any other). A heartbeat is sent once per period and never retried: a missed beat is
made up by the next, and the grace period is three periods.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from optuna.storages import BaseStorage, RDBStorage

from codesign.errors import InputError

#: how long (s) a worker waits for its database before giving up: a stated assumption (a server
#: restart or fail-over takes seconds; a longer outage is reported rather than waited out)
OUTAGE_S = 60.0

T = TypeVar("T")

_CONNECTION_WORDS = ("connection", "server closed", "could not connect", "terminating",
                     "database is locked", "shutting down", "starting up", "recovery mode",
                     "timeout", "timed out", "broken pipe", "reset by peer", "ssl syscall",
                     "no connection", "admin_shutdown", "the database system is")
_DISK_WORDS = ("disk is full", "no space left", "could not extend file", "disk full",
               "quota exceeded")


class StorageUnavailable(InputError):
    """The database did not answer within the outage budget (CLI: one line, exit 2)."""


class DiskFull(InputError):
    """A write failed for lack of space (CLI: one line naming the path, exit 2)."""


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return seen


def _text(exc: BaseException) -> str:
    return " ".join(str(getattr(e, "orig", e)) for e in _chain(exc)).lower()


def is_disk_full(exc: BaseException) -> bool:
    """An OSError ENOSPC/EDQUOT, or a database's "disk is full" anywhere in the chain."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
    return any(w in _text(exc) for w in _DISK_WORDS)


def is_transient(exc: BaseException) -> bool:
    """The database did not answer (connection refused/dropped, server restarting, locked)."""
    import sqlalchemy.exc

    if is_disk_full(exc) or isinstance(exc, InputError):
        return False
    chain = _chain(exc)
    for e in chain:
        if isinstance(e, sqlalchemy.exc.DisconnectionError) or (
                isinstance(e, sqlalchemy.exc.DBAPIError) and e.connection_invalidated):
            return True
    # other database errors (a missing table, a read-only file...) are not waited out
    return any(isinstance(e, sqlalchemy.exc.SQLAlchemyError) for e in chain) and any(
        w in _text(exc) for w in _CONNECTION_WORDS)


#: below this many free bytes a folder counts as full (SQLite needs a few pages for its -wal/-shm
#: files; an assumption: one 64 KiB write-ahead chunk)
FULL_BELOW_BYTES = 64 * 1024


def no_space_left(folder: Path) -> bool:
    """Whether the file system holding ``folder`` has (almost) no space left for this user."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < FULL_BELOW_BYTES


def disk_full_message(where: str, path: Path | str) -> str:
    return (f"{where}: no space left on the device holding {path}; the study keeps every "
            f"finished trial: free space and run the same command again")


@contextlib.contextmanager
def disk_full_names(folder: Path) -> Iterator[None]:
    """A full disk while writing into ``folder``: DiskFull naming it (an OSError may name only a
    temporary file, or nothing)."""
    try:
        yield
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        raise DiskFull(disk_full_message("--out", folder)) from None


def first_line(exc: BaseException) -> str:
    """The most specific message of the chain, first line only."""
    for e in reversed(_chain(exc)):
        lines = str(getattr(e, "orig", e)).strip().splitlines()
        if lines:
            return lines[0]
    return type(exc).__name__


def backoff(attempt: int) -> float:
    """Pause before retry ``attempt`` (0-based): 0.5, 1, 2, 4, 8, 8, ... s."""
    return min(8.0, 0.5 * 2 ** attempt)


def retry(call: Callable[[], T], where: str, outage_s: float = OUTAGE_S,
          sleep: Callable[[float], Any] = time.sleep) -> T:
    """``call()``, retried while it fails with a transient database error, for at most
    ``outage_s`` seconds; then StorageUnavailable naming ``where``. A full disk: DiskFull."""
    deadline = time.monotonic() + outage_s
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            if is_disk_full(exc):
                raise DiskFull(f"{where}: no space left on the device ({first_line(exc)}); the "
                               f"study keeps every finished trial: free space and run the same "
                               f"command again") from None
            if not is_transient(exc):
                raise
            pause = backoff(attempt)
            if time.monotonic() + pause > deadline:
                raise StorageUnavailable(
                    f"{where}: the database did not answer for {outage_s:g} s "
                    f"({first_line(exc)}); the study keeps every finished trial: run the same "
                    f"command again when it is back") from None
            sleep(pause)
            attempt += 1


#: Optuna's storage interface: every call a study, a trial or a sampler makes on its storage
_CALLS = sorted({n for n in dir(BaseStorage) if not n.startswith("_")
                 and callable(getattr(BaseStorage, n))} - {"record_heartbeat", "remove_session",
                                                          "get_heartbeat_interval",
                                                          "get_heartbeat_stale_trial_callback"}
                | {"_get_stale_trial_ids", "get_trial_id_from_study_id_trial_number",
                   # what Optuna's cache in front of a study's storage calls directly
                   "_create_new_trial", "_get_best_trial_id", "_get_trials", "_set_trial_param"})


class RetryingRDBStorage(RDBStorage):
    """Optuna's RDB storage whose calls ride out a database outage (see the module's docstring).
    ``where`` names the storage in messages (a redacted URL); ``outage_s`` the budget."""

    where = "--storage"
    outage_s = OUTAGE_S
    gave_up: StorageUnavailable | None = None

    def retrying(self, call: Callable[[], T]) -> T:
        if self.gave_up is not None:
            raise StorageUnavailable(str(self.gave_up))
        try:
            return retry(call, self.where, self.outage_s)
        except StorageUnavailable as exc:
            self.gave_up = exc
            raise

    def record_heartbeat(self, trial_id: int) -> None:
        """One try: a heartbeat that fails in an outage is sent again next period (a failure
        here would print a thread's traceback and keep the trial's end waiting for retries)."""
        try:
            super().record_heartbeat(trial_id)
        except Exception:  # the main thread meets the outage itself and reports it
            pass


def _retrying(name: str) -> Callable[..., Any]:
    method = getattr(RDBStorage, name)

    def call(self: RetryingRDBStorage, *args: Any, **kwargs: Any) -> Any:
        return self.retrying(lambda: method(self, *args, **kwargs))

    call.__name__ = name
    call.__doc__ = method.__doc__
    return call


for _name in _CALLS:
    if hasattr(RDBStorage, _name):
        setattr(RetryingRDBStorage, _name, _retrying(_name))


class _DropOutageFallbackWarnings(logging.Filter):
    """Optuna's RDB storage logs a dropped connection met while reading trials as a multi-line
    "Caught an error from sqlalchemy ... Falling back" warning before failing again; the retry
    above handles it. Drops only those records that are about the connection."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage().lower()
        return not (text.startswith("caught an error from sqlalchemy")
                    and any(w in text for w in _CONNECTION_WORDS))


logging.getLogger("optuna.storages._rdb.storage").addFilter(_DropOutageFallbackWarnings())
