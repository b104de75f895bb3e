"""Writing result files safely: checked output folders and atomic writes with unique temp names.

Several workers of one study write the same result files at the same moment. Each write goes to a
temp file of its own (``tempfile.mkstemp`` in the target folder) and is renamed over the target, so
a reader sees the old file or the new one, never half of one, and no worker removes another's temp
file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from codesign.errors import InputError


def writable_folder(folder: Path, flag: str) -> Path:
    """Check, without creating anything, that ``folder`` can hold files (it is created when the
    first file is written); InputError naming ``flag`` when not: an existing file or device in the
    way, no permission, a read-only file system."""
    folder = Path(folder)
    existing = next(p for p in [folder, *folder.parents] if p.exists() or p == Path(p.anchor))
    if not existing.is_dir():
        raise InputError(f"{flag}: {existing} exists and is not a folder")
    try:  # the one reliable test (permissions, ACLs, read-only mounts, root): try it
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{flag}: cannot write into {folder}: {exc.strerror or exc}") from None
    return folder


def writable_file(path: Path, flag: str) -> Path:
    """Check that ``path`` can be (re)written as a regular file; InputError naming ``flag``."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise InputError(f"{flag}: {path} exists and is not a regular file")
    writable_folder(path.parent, flag)
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{flag}: {path} is not writable")
    return path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A unique temp path beside ``path`` (same suffix) to write to; renamed over ``path`` when the
    block ends without error, removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_atomic(path: Path, data: str | bytes | Callable[[Path], object]) -> Path:
    """Write text, bytes, or whatever ``data(tmp_path)`` writes, to ``path`` atomically."""
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        elif isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            data(tmp)
    return Path(path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
