"""Storage URLs: checking them, redacting their secrets, and opening a study's storage read-only.

* :func:`redact` is the one function that makes a URL (or any text holding one) safe to print or
  write: it hides the password of the userinfo part (also when it holds an unencoded ``@``) and the
  value of every secret parameter libpq accepts (``?password=``, ``sslpassword=``, keyword/value
  ``password=...`` strings, percent-encoded or not).
* :func:`check_url` refuses, with one line naming ``--storage``, what cannot hold a study: an empty
  URL, an in-memory SQLite database, a path that is a folder or not a SQLite database, a damaged
  database, an unknown scheme.
* :func:`readonly_url` turns a SQLite URL into one that SQLite opens read-only, so that reading
  commands (pareto, pick, plot, report) never change a byte of the database they read.
* :func:`storage_url_of` is the one order of precedence (given URL > the study file's
  ``storage:`` > a default such as :func:`default_url`).
* :func:`memory_url` / :func:`memory_storage`: a study kept in this process's memory (Optuna's
  ``InMemoryStorage``), for Python calls only (``codesign.run_study(..., storage=None)``): no
  file, no lock. The command line still refuses in-memory URLs, whose results would be lost when
  the command ends.
"""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from codesign.errors import InputError

SQLITE = "sqlite:///"
_SCHEMES = re.compile(r"^(postgresql|postgres|mysql|sqlite)(\+\w+)?://", re.I)
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: tables of Optuna's RDB schema that are created first (one of them is present in any database
#: that a worker has begun to set up, while another worker checks it)
_OPTUNA_TABLES = {"studies", "version_info", "alembic_version", "study_directions", "trials"}

#: parameter names whose values are secrets (libpq: password, sslpassword; and the usual others)
_SECRET_KEY = r"(?:ssl)?password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key"
_EQ = r"\s*(?:=|%3D)\s*"
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s?#]*:)(\S*)@")
_PARAM = re.compile(rf"(?i)((?<![a-z])(?:{_SECRET_KEY}){_EQ})('(?:[^'\\]|\\.)*'|\"[^\"]*\"|"
                    r"(?:(?!&|%26|%20|\s|['\"]).)+)")


def redact(text: str, url: str | None = None) -> str:
    """``text`` with every storage password replaced by ``***``; with ``url``, also every
    occurrence of that URL's secrets (a driver's message may quote a piece of one)."""
    text = str(text)
    for secret in secrets(url) if url else ():
        text = text.replace(secret, "***")
    text = _USERINFO.sub(r"\1***@", text)
    return _PARAM.sub(r"\1***", text)


def secrets(url: str) -> list[str]:
    """The secret values in a URL, and their pieces around an unencoded '@' (longest first)."""
    found = [m.group(2) for m in _USERINFO.finditer(url)]
    found += [m.group(2).strip("'\"") for m in _PARAM.finditer(url)]
    pieces = {p for s in found for p in [s, *s.split("@")] if len(p) >= 2}
    return sorted(pieces, key=len, reverse=True)


#: the URL a Python caller writes for a study kept in memory (SQLAlchemy's spelling)
MEMORY_SQLITE = SQLITE + ":memory:"
#: prefix of the internal URLs of in-memory storages (never written by a user: see memory_url)
_MEMORY = "inmemory://"
#: the live in-memory storages by URL: every opener of one URL (the study and its training
#: ledger) gets the same storage; it lives while a study object holds it
_MEMORY_STORAGES: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def default_url(out_dir: str | os.PathLike, name: str) -> str:
    """The command line's default storage of study ``name``: ``sqlite:///<out>/<name>/study.db``
    (an absolute path, so workers started from other folders share it)."""
    return f"{SQLITE}{(Path(out_dir) / name / 'study.db').resolve()}"


def storage_url_of(given: str | None, configured: str | None, default: str) -> str:
    """The storage a study uses, in the one order of precedence: the URL given to the call
    (``--storage``, ``storage=``; even an empty one, which :func:`check_url` refuses), else the
    study file's ``storage:``, else ``default`` (:func:`default_url` on the command line, a
    :func:`memory_url` from Python). No environment variable takes part."""
    if given is not None:
        return given
    return configured if configured is not None else default


def is_memory_request(url: str) -> bool:
    """Whether a user's URL asks for an in-memory database (``sqlite:///:memory:`` and the like)."""
    return is_sqlite(url) and (url.split("?", 1)[0] in ("sqlite://", SQLITE, MEMORY_SQLITE)
                               or "mode=memory" in url)


def memory_url() -> str:
    """A new, unique URL naming an in-memory storage (see :func:`memory_storage`)."""
    return f"{_MEMORY}{uuid.uuid4().hex}"


def is_memory(url: str) -> bool:
    """Whether ``url`` is one that :func:`memory_url` made."""
    return url.startswith(_MEMORY)


def memory_storage(url: str):
    """The Optuna ``InMemoryStorage`` of a :func:`memory_url`, created on first use; no file, no
    lock (one process: Optuna's storage serialises its threads itself), no heartbeat."""
    from optuna.storages import InMemoryStorage

    if not is_memory(url):
        raise ValueError(f"not an in-memory storage URL: {url!r}")
    storage = _MEMORY_STORAGES.get(url)
    if storage is None:
        storage = InMemoryStorage()
        _MEMORY_STORAGES[url] = storage
    return storage


def is_sqlite(url: str) -> bool:
    return url.lower().startswith("sqlite:")


def sqlite_path(url: str) -> Path:
    """The file of a sqlite:/// URL, percent-decoded as SQLAlchemy decodes it."""
    return Path(unquote(url[len(SQLITE):].split("?", 1)[0]))


def check_url(url: str, *, must_exist: bool = False, where: str = "--storage") -> str:
    """The URL, checked; InputError naming ``where`` when it cannot hold (or does not hold) a study."""
    shown = redact(url)
    if not url.strip():
        raise InputError(f"{where}: empty URL; give sqlite:///PATH or "
                         "postgresql://USER:PASS@HOST/DB, or leave the flag out for the default")
    if not _SCHEMES.match(url):
        raise InputError(f"{where}: expected sqlite:///PATH or postgresql://USER:PASS@HOST/DB, "
                         f"got {shown!r}")
    if not is_sqlite(url):
        userinfo = _USERINFO.search(url)
        if userinfo and "@" in userinfo.group(2):
            raise InputError(f"{where}: {shown!r}: the password holds an '@'; write it "
                             f"percent-encoded as %40")
        return url
    if not url.startswith(SQLITE) or url in (SQLITE, SQLITE + ":memory:") or "mode=memory" in url:
        raise InputError(f"{where}: {shown!r} is an in-memory database: every result would be "
                         f"lost when the command ends; give sqlite:///PATH")
    path = sqlite_path(url)
    if not str(path) or url.split("?", 1)[0].endswith("/"):
        raise InputError(f"{where}: {shown!r} names no file; give sqlite:///PATH/study.db")
    if path.is_dir():
        raise InputError(f"{where}: {path} is a folder; give the database file, "
                         f"e.g. sqlite:///{path / 'study.db'}")
    if not path.exists():
        if must_exist:
            raise InputError(f"{where}: no database {path}")
        return url
    if not path.is_file():
        raise InputError(f"{where}: {path} is not a regular file")
    _check_sqlite_file(path, where)
    return url


def _check_sqlite_file(path: Path, where: str) -> None:
    """A non-empty file must be a sound SQLite database (checked read-only: nothing is written)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise InputError(f"{where}: cannot read {path}: {exc.strerror}") from None
    if not head:
        return  # an empty file: SQLite treats it as an empty database
    if head != _SQLITE_MAGIC:
        raise InputError(f"{where}: {path} is not a SQLite database")
    try:
        con = sqlite3.connect(_ro_uri(path), uri=True)
        try:
            problems = con.execute("PRAGMA quick_check").fetchall()
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        finally:
            con.close()
    except sqlite3.Error as exc:
        from codesign.outage import disk_full_message, no_space_left

        if no_space_left(path.parent):  # SQLite could not make its -shm file: not damage
            raise InputError(disk_full_message(where, path)) from None
        raise InputError(f"{where}: {path} is damaged or unreadable: {exc}") from None
    if problems != [("ok",)]:
        raise InputError(f"{where}: {path} is damaged: {problems[0][0]}")
    if tables and not set(tables) & _OPTUNA_TABLES:  # another program's database: never add to it
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise InputError(f"{where}: {path} holds no codesign study (its tables: {shown}); give a "
                         f"new file or a study's database")


def _ro_uri(path: Path, encode=quote) -> str:
    """SQLite URI that opens ``path`` without writing: read-only, and immutable (no -wal/-shm
    files created beside it) unless a writer's write-ahead log is there to be read."""
    path = Path(path).resolve()
    wal = path.with_name(path.name + "-wal").exists()
    with open(path, "rb") as fh:
        header = fh.read(20)
    wal_mode = len(header) >= 20 and header[18] == 2
    flags = "mode=ro" + ("&immutable=1" if wal_mode and not wal else "")
    return f"file:{encode(str(path))}?{flags}"


def readonly_url(url: str) -> str:
    """The SQLAlchemy URL that opens a SQLite study read-only; other URLs unchanged."""
    if not is_sqlite(url):
        return url
    # SQLAlchemy percent-decodes the path once before SQLite reads it as a URI: encode it twice,
    # so that a '#', '?' or '%' in a folder name stays part of the name
    return f"{SQLITE}{_ro_uri(sqlite_path(url), lambda p: quote(quote(p)))}&uri=true"
