"""On-disk cache: trained adapters and finished results, keyed by everything that affects them.

Layout under ``cache_dir``::

    adapters/<adapter key>/adapter_model.safetensors, adapter_config.json, meta.json
    checkpoints/<adapter key>/step-<k>/  (the same files + state.safetensors, state.json:
                                          resuming a training, :mod:`~codesign.accuracy.state_io`)
    results/<result key>.json

An adapter trained from scratch has the train key as its adapter key; a warm-started one
(:func:`warm_key`) the hash of that train key, the adapter it started from and its steps.

The train key hashes the workload, the hardware knobs the accuracy model uses (ADC/DAC bits, tile
rows/cols), the adapter (rank, placement, alpha, dropout), the noise and training settings, which
layers are analog, the adapter it started from (dynamic adaptation) and the versions of the
libraries that compute it. The result key adds the evaluation settings and the integration time
the tiles are evaluated at. With ``noise.integration_coupling`` the integration time sets the
tiles' output and read noise: the train key holds the integration time the adapters trained at
(``noise.train_integration``: the reference for every design, or each design's own), the result
key the one it is evaluated at. Latency-only knobs (energy constants, PMCA, tokens) are in
neither key. Entries are written to a
temporary name and renamed, so a crashed or failed run leaves nothing that looks valid.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from codesign.accuracy import integrity, state_io
from codesign.accuracy.rpu import train_integration_ns
from codesign.files import write_atomic

#: 5: checkpoint states without pickle, file digests in meta.json
CACHE_VERSION = 5


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_plain(x) for x in obj)
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in sorted(obj.items())}
    return obj


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "aihwkit", "transformers", "peft"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "-"
    return out


def train_key_data(workload, aimc, lora, settings, init_from: str | None = None) -> dict:
    return {"v": CACHE_VERSION, "workload": _plain(workload),
            "aimc": {"rows": aimc.rows, "cols": aimc.cols, "adc_bits": aimc.adc_bits,
                     "dac_bits": aimc.dac_bits,
                     "train_integration_ns": train_integration_ns(aimc.integration_ns,
                                                                  settings.noise)},
            "lora": _plain(lora) if settings.training.mode == "lora" else None,
            "noise": _plain(settings.noise), "training": _plain(settings.training),
            "analog_layers": settings.analog_layers, "init_from": init_from,
            "versions": _versions(), **_digital(settings)}


def _digital(settings) -> dict:
    """The layers kept digital, top-K spelled out from its ranking file (absent when none, so
    that every other key stays what it was)."""
    from hw_models.digital_spec import expanded

    spec = getattr(settings, "digital", None)
    if spec is None or not spec.active:
        return {}
    try:
        return {"digital": list(expanded(spec))}
    except ValueError as exc:
        from codesign.errors import InputError

        raise InputError(str(exc)) from None


def digest(data: dict) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def train_key(workload, aimc, lora, settings, init_from: str | None = None) -> str:
    return digest(train_key_data(workload, aimc, lora, settings, init_from))


def result_key(train_key_: str, settings, aimc) -> str:
    eval_ns = aimc.integration_ns if settings.noise.integration_coupling else None
    return digest({"train": train_key_, "evaluation": _plain(settings.evaluation),
                   "integration_ns": eval_ns})


def warm_key(train_key_: str, start_key: str, steps: int, schedule: str = "") -> str:
    """The adapter key of a setting trained for ``steps`` steps from the adapter ``start_key``
    (``schedule``: a name for how its learning rate is set)."""
    return digest({"v": CACHE_VERSION, "train": train_key_, "start": start_key,
                   "steps": int(steps), **({"schedule": schedule} if schedule else {})})


ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")
CHECKPOINT_FILES = ADAPTER_FILES + state_io.FILES


def checkpoint_dir(cache_dir: Path, key: str, step: int) -> Path:
    return Path(cache_dir) / "checkpoints" / key / f"step-{int(step)}"


def adapter_dir(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "adapters" / key


def entry_meta(folder: Path, required: tuple[str, ...], what: str) -> dict | None:
    """The meta.json of the cache entry ``folder`` once its files match their digests; None when
    there is no entry, or when it is damaged (then it is discarded, with one line)."""
    folder = Path(folder)
    if not folder.exists():
        return None
    try:
        return integrity.read_meta(folder, required)
    except integrity.Damaged as exc:
        integrity.discard(folder, exc.why, what)
        return None


def has_checkpoint(cache_dir: Path, key: str, step: int) -> bool:
    return entry_meta(checkpoint_dir(cache_dir, key, step), CHECKPOINT_FILES,
                      "checkpoint") is not None


def has_adapter(cache_dir: Path, key: str) -> bool:
    return entry_meta(adapter_dir(cache_dir, key), ADAPTER_FILES, "adapter") is not None


def save_adapter_atomic(cache_dir: Path, key: str, write, meta: dict,
                        final: Path | None = None) -> Path:
    """``write(folder)`` fills a temporary folder that is then renamed into place (the adapter
    folder of ``key``, or ``final``); meta.json gets ``meta`` and the digests of the files."""
    final = adapter_dir(cache_dir, key) if final is None else Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=final.parent))
    try:
        write(tmp)
        meta = dict(meta, files=integrity.manifest(tmp))
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def result_path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / "results" / f"{key}.json"


def result_problem(data: Any, labels: tuple[str, ...] | None = None) -> str | None:
    """Why ``data`` is not a complete, successful accuracy result (None: it is one): a mapping
    with status ok whose digital and analog series hold a number for every drift time
    (``labels``: the evaluated ones; default: those of ``digital``)."""
    if not isinstance(data, dict):
        return f"holds a {type(data).__name__}, not a result"
    if data.get("status", "ok") != "ok":
        return f"status {data.get('status')!r}"
    want = list(labels) if labels is not None else list(data.get("digital") or {})
    if not want:
        return "no drift times"
    for series in ("digital", "analog_after"):
        got = data.get(series)
        if not isinstance(got, dict):
            return f"no {series}"
        if sorted(got) != sorted(want):
            return f"{series} has drift times {sorted(got)}, not {sorted(want)}"
        for label, entry in got.items():
            mean = entry.get("mean") if isinstance(entry, dict) else None
            if not isinstance(mean, (int, float)) or isinstance(mean, bool):
                return f"{series}[{label}] has no number"
    return None


def load_result(cache_dir: Path, key: str, labels: tuple[str, ...] | None = None) -> dict | None:
    """The cached result of ``key``; None when absent, or when the file is empty, not JSON or not
    a complete result (:func:`result_problem`: then it is discarded, with one line)."""
    path = result_path(cache_dir, key)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        integrity.discard(path, f"not JSON: {type(exc).__name__}", "result file")
        return None
    problem = result_problem(data, labels)
    if problem is not None:
        integrity.discard(path, problem, "result file")
        return None
    return data


def save_result(cache_dir: Path, key: str, data: dict) -> None:
    write_atomic(result_path(cache_dir, key),
                 json.dumps(data, indent=1, default=str))
