"""The one parser of metric keys: ``latency_us``, ``accuracy@1y``, ``accuracy@worst:p10``.

A key names a metric (:data:`codesign.metrics.METRICS`), for accuracy metrics a drift horizon
after ``@`` (a drift-time label such as ``1d`` or ``10y``, or ``mean`` / ``worst`` over the
evaluated drift times) and, after ``:``, a quantile over the noise draws (chips): ``p10`` is the
accuracy that 90 % of the draws reach. Objectives, constraints, results columns and
``codesign pick --require`` / ``--prefer`` all name metrics this way; this module is the only
place that splits such a key into its parts. Whether a metric takes a horizon at all, and whether
a horizon was evaluated, is the caller's knowledge (:mod:`codesign.metrics`, :mod:`codesign.config`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from codesign.accuracy.settings import drift_seconds
from codesign.errors import InputError, SpecError

__all__ = ["MetricKey", "AGGREGATES", "keys_of"]

#: horizons that are not one drift time: the mean and the worst over the evaluated drift times
AGGREGATES = ("mean", "worst")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUANTILE = re.compile(r"p(100|[1-9]?[0-9])")
_ALLOWED = ("expected NAME, NAME@HORIZON or NAME@HORIZON:pNN (e.g. latency_us, accuracy@1y, "
            "accuracy@worst:p10)")


@dataclass(frozen=True)
class MetricKey:
    """A metric, optionally at a drift horizon and a quantile over the noise draws.

    ``str(key)`` gives the text :meth:`parse` reads back: the results column's name."""

    name: str
    horizon: str | None = None      # a drift-time label ("1y") or "mean" / "worst"
    quantile: str | None = None     # "p0" .. "p100" (percent of draws below the value)

    @classmethod
    def parse(cls, text: str, where: str = "metric") -> MetricKey:
        """``'accuracy@1y:p10'`` -> MetricKey('accuracy', '1y', 'p10'); InputError (one line
        naming ``where`` and the key) on anything else."""
        if not isinstance(text, str):
            raise InputError(f"{where}: {text!r}: {_ALLOWED}")
        name, at_sign, at = text.strip().partition("@")
        if not _NAME.fullmatch(name):
            raise InputError(f"{where}: {text!r}: {_ALLOWED}")
        if not at_sign:
            return cls(name)
        return cls.of(name, at, where, text)

    @classmethod
    def of(cls, name: str, at: str, where: str = "at", text: str | None = None) -> MetricKey:
        """The key of metric ``name`` at ``at`` (``'1y'``, ``'worst:p10'``: an objective's
        ``at`` field); InputError naming ``where`` for a bad horizon or quantile."""
        shown = text if text is not None else f"{name}@{at}"
        horizon, colon, quantile = str(at).strip().partition(":")
        if colon and not _QUANTILE.fullmatch(quantile):
            raise InputError(f"{where}: quantile {quantile!r} in {shown!r}: expected p0 .. p100 "
                             f"(e.g. '{horizon}:p10', the accuracy 90 % of chips reach)")
        if horizon not in AGGREGATES and _seconds(horizon) is None:
            raise InputError(f"{where}: horizon {horizon!r} in {shown!r}: expected a drift time "
                             f"(<number><unit>, unit s, min, h, d, w, mo or y, e.g. 1d, 1y), "
                             f"mean or worst")
        return cls(name, horizon, quantile if colon else None)

    @property
    def at(self) -> str | None:
        """The part after ``@``: ``'1y:p10'``; None without a horizon."""
        if self.horizon is None:
            return None
        return self.horizon if self.quantile is None else f"{self.horizon}:{self.quantile}"

    @property
    def percent(self) -> float | None:
        """The quantile in percent (``p10`` -> 10.0); None for the mean over the draws."""
        return None if self.quantile is None else float(self.quantile[1:])

    @property
    def seconds(self) -> float | None:
        """The horizon in seconds after programming (``1d`` -> 86400.0); None for no horizon,
        ``mean`` or ``worst``."""
        return None if self.horizon is None else _seconds(self.horizon)

    @property
    def aggregate(self) -> bool:
        """True when the horizon is ``mean`` or ``worst`` over the evaluated drift times."""
        return self.horizon in AGGREGATES

    def __str__(self) -> str:
        return self.name if self.at is None else f"{self.name}@{self.at}"


def keys_of(columns: Iterable[Any]) -> list[MetricKey]:
    """The columns of a results table that are metric keys, parsed (others are skipped)."""
    keys = []
    for col in columns:
        try:
            keys.append(MetricKey.parse(col))
        except InputError:
            continue
    return keys


def _seconds(label: str) -> float | None:
    """Seconds of a drift-time label (the accuracy model's grammar), None if it is not one."""
    try:
        return drift_seconds(label)
    except SpecError:
        return None
