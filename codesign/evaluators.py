"""Per-trial evaluation: a design point -> metrics, from the hardware model and the accuracy model.

Latency, energy, memory and adapter size come from hw_models for every trial (milliseconds).
Accuracy comes from codesign.accuracy, once per distinct accuracy-relevant setting: results are
memoised on disk under ``cache_dir`` keyed by everything that affects them, so trials that differ
only in latency knobs (integration time, tokens, TCDM, clock) cost no training.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hw_models

from codesign.config.study import DesignPoint


@functools.lru_cache(maxsize=16)
def _network(name: str):
    return hw_models.load_network(name)


def hardware_metrics(point: DesignPoint) -> dict[str, float]:
    """Latency/energy/memory/adapter metrics of the whole network for one design point."""
    network = _network(point.workload.network)
    report = hw_models.evaluate_network(network, point.hardware, point.lora,
                                        seq_len=point.workload.seq_len)
    return {
        "latency_us": report.total_ns / 1e3,
        "aimc_only_us": report.aimc_only_ns / 1e3,
        "overhead": report.overhead,
        "energy_uj": report.energy_pj / 1e6,
        "adapter_params": float(report.adapter_params),
        "tcdm_kib": report.tcdm_bytes / 1024,
        "tcdm_fits": 1.0 if report.tcdm_fits else 0.0,
    }


def accuracy_key(point: DesignPoint) -> str:
    """A hash of everything that affects the accuracy result (not latency-only knobs)."""
    aimc = point.hardware.aimc
    relevant = {
        "workload": dataclasses.asdict(point.workload.accuracy),
        "aimc": {k: getattr(aimc, k) for k in ("rows", "cols", "adc_bits", "dac_bits")},
        "lora": dataclasses.asdict(point.lora),
        "settings": dataclasses.asdict(point.accuracy),
    }
    text = json.dumps(relevant, sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class AccuracyOutcome:
    """The accuracy side of a trial: the drift series and whether it came from the cache."""

    result: dict[str, Any]
    cache_hit: bool
    key: str
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result.get("status", "ok") == "ok"


def accuracy_outcome(point: DesignPoint, cache_dir: Path, progress: bool = False) -> AccuracyOutcome:
    """Evaluate (or load) the accuracy of a design point."""
    import time

    from codesign.accuracy import evaluate_accuracy

    key = accuracy_key(point)
    memo = Path(cache_dir) / "results" / f"{key}.json"
    if memo.is_file():
        return AccuracyOutcome(json.loads(memo.read_text()), cache_hit=True, key=key)
    start = time.perf_counter()
    result = evaluate_accuracy(point.workload.accuracy, point.hardware.aimc, point.lora,
                               point.accuracy, cache_dir=Path(cache_dir), progress=progress)
    data = result.to_dict()
    seconds = time.perf_counter() - start
    if data.get("status", "ok") == "ok":
        _atomic_write(memo, json.dumps(data))
    return AccuracyOutcome(data, cache_hit=bool(getattr(result, "cache_hit", False)), key=key,
                           seconds=seconds)


def accuracy_at(series: dict[str, dict[str, float]], at: str) -> float:
    """One number from a drift series: the mean at a drift time, or 'mean' / 'worst' over times."""
    means = [v["mean"] for v in series.values()]
    if at == "mean":
        return float(sum(means) / len(means))
    if at == "worst":
        return float(min(means))
    return float(series[at]["mean"])


def accuracy_metrics(after: dict, before: dict) -> dict[str, float]:
    """accuracy@<time> for every drift time plus @mean and @worst, after and before training;
    plain ``accuracy`` / ``accuracy_before`` are the means over drift times."""
    out = {}
    for name, series in (("accuracy", after), ("accuracy_before", before)):
        for at in [*series, "mean", "worst"]:
            out[f"{name}@{at}"] = accuracy_at(series, at)
        out[name] = out[f"{name}@mean"]
    return out


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
