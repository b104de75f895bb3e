"""Damaged or tampered state on disk: digests recorded when something is written, checked before
it is used, and one line on stderr when something is discarded.

Cache entries (adapters, checkpoints) list their files in ``meta.json`` under ``files``
({name: {"sha256", "size"}}); artifacts downloaded from a training ledger's store are checked
against the digest the ledger recorded at upload. What fails a check is discarded and recomputed,
never loaded; nothing read from these files is ever executed (no pickle anywhere).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any, Optional


class Damaged(Exception):
    """Stored state that cannot be used: missing, truncated, garbage or not matching its digest.
    ``path``: the file or folder to discard (None: the caller knows which)."""

    def __init__(self, path: Optional[Path], why: str):
        super().__init__(why)
        self.path = None if path is None else Path(path)
        self.why = why


def file_digest(path: Path) -> dict[str, Any]:
    """{"sha256": hex digest, "size": bytes} of one file, read in 1 MiB blocks."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return {"sha256": h.hexdigest(), "size": size}


def manifest(folder: Path, skip: tuple[str, ...] = ("meta.json",)) -> dict[str, dict]:
    """The digests of the regular files directly in ``folder`` (but ``skip``), by name."""
    return {p.name: file_digest(p) for p in sorted(Path(folder).iterdir())
            if p.is_file() and not p.is_symlink() and p.name not in skip}


def check_file(path: Path, expected: Any) -> None:
    """Damaged unless ``path`` is a regular file with the expected size and sha256 (size first:
    a truncated file is named as such without hashing it)."""
    path = Path(path)
    if not isinstance(expected, dict) or not isinstance(expected.get("sha256"), str) \
            or not isinstance(expected.get("size"), int):
        raise Damaged(path, "no valid digest recorded for it")
    if path.is_symlink() or not path.is_file():
        raise Damaged(path, "missing")
    size = path.stat().st_size
    if size != expected["size"]:
        raise Damaged(path, f"{size} bytes where {expected['size']} were written")
    if file_digest(path)["sha256"] != expected["sha256"]:
        raise Damaged(path, "its sha256 differs from the one recorded when it was written")


def read_meta(folder: Path, required: tuple[str, ...]) -> dict:
    """A cache entry's meta.json after checking every file it lists and that ``required`` files
    are among them; Damaged (naming the folder) otherwise."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except FileNotFoundError:
        raise Damaged(folder, "meta.json is missing") from None
    except (OSError, ValueError) as exc:
        raise Damaged(folder, f"meta.json is unreadable: {type(exc).__name__}") from None
    files = meta.get("files") if isinstance(meta, dict) else None
    if not isinstance(files, dict):
        raise Damaged(folder, "meta.json lists no file digests")
    missing = [name for name in required if name not in files]
    if missing:
        raise Damaged(folder, f"meta.json does not list {', '.join(missing)}")
    for name, expected in files.items():
        if not isinstance(name, str) or "/" in name or name in ("", ".", ".."):
            raise Damaged(folder, f"meta.json lists a bad file name {name!r}")
        try:
            check_file(folder / name, expected)
        except Damaged as exc:
            raise Damaged(folder, f"{name}: {exc.why}") from None
    return meta


def discard(path: Path, why: str, what: str = "cache entry") -> None:
    """Remove a damaged file or folder and say so in one line on stderr."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    say(f"{what} {path} is damaged ({one_line(why)}): discarded, recomputing")


def say(message: str) -> None:
    """One line on stderr, prefixed ``codesign:``."""
    sys.stderr.write(f"codesign: {one_line(message)}\n")
    sys.stderr.flush()


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
