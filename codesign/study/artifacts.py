"""The training ledger's artifacts: adapters, checkpoints and results in Optuna's artifact store.

Each is uploaded with its digest (sha256 and size) recorded in the ledger study's user
attributes, so a worker whose local cache lacks it downloads it instead of training. A download
that is missing or does not match its digest (anyone who can write the store could have replaced
it) is refused with one line and recomputed; nothing downloaded is unpickled or executed
(:mod:`codesign.accuracy.state_io`).
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Optional

from codesign.accuracy import cache, integrity


def artifact_store(where: str):
    """Optuna's artifact store for ``search.artifacts``: s3://bucket or a folder."""
    from codesign.config.search import artifacts_problem
    from codesign.errors import InputError

    problem = artifacts_problem(where)
    if problem:
        raise InputError(f"search.artifacts: {problem}")
    if where.startswith("s3://"):
        try:
            import boto3
        except ModuleNotFoundError:
            raise InputError("search.artifacts: an s3:// store needs boto3 (pip install boto3)") \
                from None
        from optuna.artifacts import Boto3ArtifactStore

        bucket = where[len("s3://"):].strip("/")
        return Boto3ArtifactStore(bucket, client=boto3.client("s3"))
    from optuna.artifacts import FileSystemArtifactStore

    try:
        Path(where).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"search.artifacts: cannot create {where}: "
                         f"{exc.strerror or exc}") from None
    return FileSystemArtifactStore(where)


class ArtifactShelf:
    """The ledger's uploads and downloads (a base of :class:`codesign.study.ledger.Ledger`):
    ``study`` is the ledger study (its user attributes name each artifact and its digest),
    ``storage`` its storage, ``store`` the artifact store, ``rungs`` the checkpoints."""

    study: Any
    storage: Any
    store: Any
    rungs: tuple[int, ...]
    refused: set[str]

    def _artifact(self, kind: str, key: str) -> Optional[str]:
        return self.study.user_attrs.get(f"{kind}:{key}")

    def put(self, kind: str, key: str, path: Path) -> None:
        """Upload a file or folder (as an uncompressed tar) and name it ``kind:key``, with its
        digest (sha256 and size) as ``kind:key:digest``, recorded before the id is."""
        from optuna.artifacts import upload_artifact

        with tempfile.TemporaryDirectory() as tmp:
            if Path(path).is_dir():
                packed = Path(tmp) / f"{key}.tar"
                with tarfile.open(packed, "w") as tar:
                    for item in sorted(Path(path).iterdir()):
                        tar.add(item, arcname=item.name)
                path = packed
            digest = integrity.file_digest(Path(path))
            artifact_id = upload_artifact(artifact_store=self.store, file_path=str(path),
                                          study_or_trial=self.study, storage=self.storage)
        self.study.set_user_attr(f"{kind}:{key}:digest", digest)
        self.study.set_user_attr(f"{kind}:{key}", artifact_id)
        self.refused.discard(f"{kind}:{key}")

    def wants(self, kind: str, key: str) -> bool:
        """Whether ``kind:key`` should be uploaded: the store has none, or a damaged one."""
        return self._artifact(kind, key) is None or f"{kind}:{key}" in self.refused

    def _refuse(self, kind: str, key: str, why: str) -> bool:
        self.refused.add(f"{kind}:{key}")
        hint = (" (workers on several machines need one shared search.artifacts)"
                if why.startswith("is missing") else "")
        integrity.say(f"artifact {kind}:{key} in the artifact store {why}: not used, "
                      f"recomputing{hint}")
        return False

    def get(self, kind: str, key: str, target: Path) -> bool:
        """Download ``kind:key`` into ``target`` (a folder for packed folders, else a file),
        atomically, once it matches the digest recorded at upload; False (with one line when
        the ledger names one) if the ledger has no such artifact or it is missing, damaged or
        not the file that was uploaded."""
        from optuna.artifacts import download_artifact
        from optuna.artifacts.exceptions import ArtifactNotFound

        artifact_id = self._artifact(kind, key)
        if artifact_id is None:
            return False
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            blob = tmp / "blob"
            try:
                download_artifact(artifact_store=self.store, artifact_id=artifact_id,
                                  file_path=str(blob))
            except (ArtifactNotFound, OSError) as exc:
                return self._refuse(kind, key, f"is missing ({type(exc).__name__})")
            try:
                integrity.check_file(blob, self.study.user_attrs.get(f"{kind}:{key}:digest"))
            except integrity.Damaged as exc:
                return self._refuse(kind, key, f"is damaged or replaced ({exc.why})")
            if kind == "result":
                blob.replace(target)
            else:
                folder = tmp / "folder"
                try:
                    with tarfile.open(blob) as tar:
                        tar.extractall(folder, filter="data")
                except (tarfile.TarError, OSError) as exc:
                    return self._refuse(kind, key, f"is not a readable folder ({exc})")
                if target.exists():
                    shutil.rmtree(target)
                folder.replace(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return True

    def fetch_adapter(self, cache_dir: Path, key: str) -> bool:
        """Whether the adapter of ``key`` is in the local cache, intact, after fetching it from
        the store if it was not."""
        if cache.has_adapter(cache_dir, key):
            return True
        if not self.get("adapter", key, cache.adapter_dir(cache_dir, key)):
            return False
        if cache.has_adapter(cache_dir, key):
            return True
        self.refused.add(f"adapter:{key}")
        return False

    def fetch_checkpoints(self, cache_dir: Path, key: str) -> None:
        for rung in self.rungs:
            if not cache.has_checkpoint(cache_dir, key, rung) and self.get(
                    "checkpoint", f"{key}@{rung}", cache.checkpoint_dir(cache_dir, key, rung)) \
                    and not cache.has_checkpoint(cache_dir, key, rung):
                self.refused.add(f"checkpoint:{key}@{rung}")

    def fetch_result(self, cache_dir: Path, key: str, labels: Optional[tuple] = None) -> None:
        """The result of ``key`` into the local cache from the store, when it is a complete one
        (:func:`codesign.accuracy.cache.load_result` discards it otherwise)."""
        path = cache.result_path(cache_dir, key)
        if not path.is_file() and self.get("result", key, path) \
                and cache.load_result(cache_dir, key, labels) is None:
            self.refused.add(f"result:{key}")
