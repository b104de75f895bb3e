"""Per-trial evaluation: a design point -> metrics, from the hardware model and the accuracy model.

Latency, energy, memory and adapter size come from hw_models for every trial (milliseconds).
Accuracy comes from codesign.accuracy, once per distinct accuracy-relevant setting: its cache under
``cache_dir`` is keyed by everything that affects adapters and results, so trials that differ only
in latency knobs (integration time, tokens, TCDM, clock) cost no training.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hw_models
from hw_models.throughput import encoder_throughput

from codesign.accuracy.settings import AccuracyResult
from codesign.config.study import DesignPoint
from codesign.metric_key import AGGREGATES, MetricKey


@functools.lru_cache(maxsize=16)
def network(name: str):
    """The hw_models network of a name or config path (parsed once per process)."""
    return hw_models.load_network(name)


def hardware_metrics(point: DesignPoint) -> dict[str, float]:
    """Latency/energy/memory/adapter/area metrics of the whole network for one design point."""
    net = network(point.workload.network)
    report = hw_models.evaluate_network(net, point.hardware, point.lora,
                                        seq_len=point.workload.seq_len)
    out = {
        "latency_us": report.total_ns / 1e3,
        "aimc_only_us": report.aimc_only_ns / 1e3,
        "overhead": report.overhead,
        "energy_uj": report.energy_pj / 1e6,
        "adapter_params": float(report.adapter_params),
        "tcdm_kib": report.tcdm_bytes / 1024,
        "tcdm_fits": 1.0 if report.tcdm_fits else 0.0,
        "area_mm2": report.area_mm2,
        "chips": float(report.chips),
        "static_energy_uj": report.static_energy_pj / 1e6,
        "dynamic_energy_uj": report.dynamic_energy_pj / 1e6,
        "sequences_per_s": encoder_throughput(report, net, point.hardware).sequences_per_s,
    }
    if point.workload.generate > 0:
        from hw_models.decode import decode_report

        decode = decode_report(net, point.hardware, point.lora, point.workload.seq_len,
                               point.workload.generate, point.workload.batch)
        out["decode_us_per_token"] = decode.decode_ns_per_token / 1e3
        out["tokens_per_s"] = decode.tokens_per_s
        out["decode_uj_per_token"] = decode.decode_energy_pj_per_token / 1e6
    return out


@dataclass
class AccuracyOutcome:
    """The accuracy side of a trial: the result and whether it came from the cache."""

    result: AccuracyResult
    cache_hit: bool
    seconds: float
    training: Any = None          # codesign.study.record.Training when a study's ledger ran it

    @property
    def ok(self) -> bool:
        return self.result.ok


def accuracy_outcome(point: DesignPoint, cache_dir: Path,
                     progress: bool = False) -> AccuracyOutcome:
    """Evaluate the accuracy of a design point; codesign.accuracy's own cache (adapters and
    results keyed by everything that affects them) makes repeats cheap. Within a study with a
    training ledger: :func:`codesign.study.training.accuracy_outcome` (each setting trained once
    per study across workers, with the study's pruning and warm starts)."""
    start = time.perf_counter()
    from codesign.accuracy import evaluate_accuracy

    workload, aimc, lora, settings = accuracy_parts(point)
    result = evaluate_accuracy(workload, aimc, lora, settings, cache_dir=Path(cache_dir),
                               progress=progress)
    return AccuracyOutcome(result, bool(result.cache_hit), time.perf_counter() - start)


def accuracy_parts(point: DesignPoint) -> tuple:
    """Everything a point's adapters and accuracy measurement depend on, as the accuracy model
    takes it: (workload.accuracy, hardware.aimc, lora, accuracy settings), the layers the
    hardware keeps digital kept digital (:func:`with_digital`). Two points with equal parts have
    the same adapters and the same accuracy (:mod:`codesign.study.siblings`)."""
    point = with_digital(point)
    return point.workload.accuracy, point.hardware.aimc, point.lora, point.accuracy


def with_digital(point: DesignPoint) -> DesignPoint:
    """The design point with its accuracy settings keeping digital the layers its hardware
    keeps digital (``hardware.digital`` -> ``accuracy.digital``)."""
    import dataclasses

    if point.accuracy.digital == point.hardware.digital:
        return point
    return dataclasses.replace(point, accuracy=dataclasses.replace(
        point.accuracy, digital=point.hardware.digital))


def accuracy_at(series: dict[str, dict], at: str) -> float:
    """One number from a drift series: the mean at a drift time, or 'mean' / 'worst' over times.
    With a ``:pNN`` suffix (``1y:p10``, ``worst:p10``) each time's value is the NN-th percentile
    over the noise draws (numpy's linear interpolation between draws) instead of their mean."""
    import numpy as np

    from codesign.errors import InputError

    key = MetricKey.of("accuracy", at, "accuracy horizon")
    horizon, q = key.horizon, key.percent

    def value(entry: dict) -> float:
        if q is None:
            return float(entry["mean"])
        if "draws" not in entry:
            raise InputError(f"{key}: this result has no per-draw values (recorded before "
                             "quantiles existed); re-evaluate it")
        return float(np.percentile(entry["draws"], q))

    if key.aggregate:
        values = [value(v) for v in series.values()]
        return float(sum(values) / len(values)) if horizon == "mean" else float(min(values))
    return value(series[str(horizon)])


def accuracy_metrics(after: dict, before: dict, wanted=()) -> dict[str, float]:
    """accuracy@<time> for every drift time plus @mean and @worst, after and before training;
    plain ``accuracy`` / ``accuracy_before`` are the means over drift times. ``wanted``: further
    names to compute, e.g. ``accuracy@1y:p10`` (objectives and rules that name a quantile)."""
    out = {}
    for name, series in (("accuracy", after), ("accuracy_before", before)):
        for at in [*series, *AGGREGATES]:
            out[str(MetricKey(name, at))] = accuracy_at(series, at)
        out[name] = out[str(MetricKey(name, "mean"))]
    for text in wanted:
        key = MetricKey.parse(text, "metric")
        if key.at and text not in out and key.name in ("accuracy", "accuracy_before"):
            out[text] = accuracy_at(after if key.name == "accuracy" else before, key.at)
    return out
