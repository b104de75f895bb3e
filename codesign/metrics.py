"""The metrics a trial reports, their units and natural directions, and ``metric OP value`` rules.

Objectives, constraints and ``codesign pick --require`` all name metrics from :data:`METRICS`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from codesign.errors import InputError
from codesign.metric_key import MetricKey


#: an objective's direction, as Optuna names it
Direction = Literal["minimize", "maximize"]


@dataclass(frozen=True)
class Metric:
    name: str
    direction: Direction  # the better way
    unit: str
    help: str
    needs_accuracy: bool = False


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("latency_us", "minimize", "us", "network latency of one sequence (seq_len tokens)"),
    Metric("aimc_only_us", "minimize", "us", "the same latency without LoRA (AIMC alone)"),
    Metric("overhead", "minimize", "x", "latency_us / aimc_only_us: the price of the adapters"),
    Metric("energy_uj", "minimize", "uJ", "energy of one sequence through the network"),
    Metric("adapter_params", "minimize", "params", "LoRA parameters over the network"),
    Metric("tcdm_kib", "minimize", "KiB", "peak PMCA working set (TCDM) over the layers"),
    Metric("tcdm_fits", "maximize", "bool", "1 when every layer's working set fits the TCDM"),
    Metric("decode_us_per_token", "minimize", "us", "mean time per generated token after a "
           "seq_len-token prompt (decoders; needs workload.generate >= 1)"),
    Metric("area_mm2", "minimize", "mm^2", "silicon of the network's AIMC tiles, their PMCA "
           "clusters and the chips' L2 (hw_models.area)"),
    Metric("chips", "minimize", "chips", "chips the network needs (weights stationary; "
           "hardware.chip.tiles_per_chip tiles per chip)"),
    Metric("static_energy_uj", "minimize", "uJ", "leakage energy of that silicon over one "
           "sequence (included in energy_uj)"),
    Metric("dynamic_energy_uj", "minimize", "uJ", "energy_uj without the leakage: the "
           "switching energy of tiles, clusters and transfers over one sequence"),
    Metric("accuracy", "maximize", "metric", "task metric after AHWA-LoRA training: as an "
           "objective at its drift horizon 'at'; in rules the mean over the drift times, or "
           "accuracy@1y, accuracy@worst, ...; a ':pNN' suffix (accuracy@1y:p10) takes the NN-th "
           "percentile over the noise draws (chips) instead of their mean",
           needs_accuracy=True),
    Metric("accuracy_before", "maximize", "metric", "the same metric before adapter training",
           needs_accuracy=True),
)}

def metric_of(column: str) -> Metric:
    """The metric a results column holds: ``accuracy@1y`` -> accuracy; KeyError if none."""
    try:
        return METRICS[MetricKey.parse(column).name]
    except InputError:
        raise KeyError(column) from None


#: METRIC OP BOUND; the metric's key (:class:`MetricKey`) is checked by :func:`check_key`
_RULE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_@:.]*)\s*"
                   r"(<=|>=|<|>|==)\s*([-+0-9.eE]+|true|false)\s*$")


def parse_at(at: str, where: str) -> tuple[str, float | None]:
    """An accuracy horizon with an optional quantile over the noise draws (chips):
    ``'1y'`` -> ('1y', None), ``'1y:p10'`` -> ('1y', 10.0): the accuracy that 90 % of the draws
    reach. InputError unless the quantile is p0 .. p100 (:meth:`MetricKey.of` parses it)."""
    key = MetricKey.of("accuracy", at, where)
    return str(key.horizon), key.percent


@dataclass(frozen=True)
class Rule:
    """``metric OP bound``; :meth:`violation` is <= 0 when satisfied (Optuna's constraint sign)."""

    metric: str
    op: str
    bound: float

    @property
    def key(self) -> MetricKey:
        """The metric's key: ``accuracy@1y:p10`` -> MetricKey('accuracy', '1y', 'p10')."""
        return MetricKey.parse(self.metric)

    @property
    def base(self) -> str:
        """The metric's name in :data:`METRICS` (``accuracy@1y:p10`` -> ``accuracy``)."""
        return self.key.name

    def violation(self, value: float) -> float:
        if self.op in ("<=", "<"):
            return float(value) - self.bound
        if self.op in (">=", ">"):
            return self.bound - float(value)
        return abs(float(value) - self.bound)

    def holds(self, value: float) -> bool:
        v = float(value)
        return {"<=": v <= self.bound, "<": v < self.bound, ">=": v >= self.bound,
                ">": v > self.bound, "==": v == self.bound}[self.op]

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"


def check_key(text: str, where: str, known: dict | None = None) -> MetricKey:
    """The key of a known metric (a drift horizon only on accuracy metrics); InputError naming
    ``where`` otherwise."""
    known = METRICS if known is None else known
    key = MetricKey.parse(text, where)
    if key.name not in known or (key.horizon and not known[key.name].needs_accuracy):
        raise InputError(f"{where}: unknown metric {text!r}; known: {', '.join(known)}"
                         " (accuracy metrics also as accuracy@1d, accuracy@worst, "
                         "accuracy@1y:p10, ...)")
    return key


def parse_rule(text: str, where: str, known: dict | None = None) -> Rule:
    """Parse ``latency_us<=120`` (or a bare boolean metric such as ``tcdm_fits``) into a Rule."""
    known = METRICS if known is None else known
    if isinstance(text, str) and text.strip() in known:
        name = text.strip()
        if known[name].unit != "bool":
            raise InputError(f"{where}: {name!r} needs a comparison, e.g. '{name}<=100'")
        return Rule(name, ">=", 1.0)
    m = _RULE.match(text) if isinstance(text, str) else None
    if not m:
        raise InputError(f"{where}: expected METRIC OP NUMBER (e.g. 'latency_us<=120'), "
                         f"got {text!r}")
    name, op, raw = m.groups()
    check_key(name, where, known)
    bound = {"true": 1.0, "false": 0.0}.get(raw)
    if bound is None:
        try:
            bound = float(raw)
        except ValueError:
            raise InputError(f"{where}: {raw!r} is not a number") from None
        if not math.isfinite(bound):
            raise InputError(f"{where}: the bound must be a finite number, got {raw!r}")
    return Rule(name, op, bound)
