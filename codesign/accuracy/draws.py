"""Per-draw values (one per noise draw: a chip) beside the result contract's summary.

A drift series from :func:`codesign.accuracy.drift.evaluate_series` holds, per drift label,
``{"mean", "std", "draws"}``. The result contract (:class:`~codesign.accuracy.settings.
AccuracyResult`) keeps only ``{"mean", "std"}`` under ``analog_before`` / ``analog_after`` and the
per-draw values apart, under ``extras["draws"]``. :func:`split_result` splits them when a result
is made and :func:`series_with_draws` merges them back where quantiles over the draws are computed
(:mod:`codesign.evaluators`); this module is the only one that knows the two layouts.
"""

from __future__ import annotations

#: the drift series of a result that have per-draw values
VARIANTS = ("analog_before", "analog_after")


def split_draws(series: dict) -> tuple[dict, dict]:
    """({label: {"mean", "std"}}, {label: [value of each draw]}) of one variant's series."""
    return ({label: {k: v for k, v in e.items() if k != "draws"} for label, e in series.items()},
            {label: list(e.get("draws", [])) for label, e in series.items()})


def split_result(before: dict, after: dict) -> tuple[dict, dict, dict]:
    """(analog_before, analog_after, extras["draws"]) of a result from the two series."""
    (summary_before, draws_before), (summary_after, draws_after) = \
        split_draws(before), split_draws(after)
    return summary_before, summary_after, dict(zip(VARIANTS, (draws_before, draws_after)))


def series_with_draws(result: dict) -> tuple[dict, dict]:
    """(after, before) drift series of a result dict (``AccuracyResult.to_dict()``), each entry
    {"mean", "std"} plus "draws" where the result kept per-draw values for it."""
    draws = result.get("draws") or {}

    def merged(key: str) -> dict:
        per = draws.get(key) or {}
        return {label: dict(entry, **({"draws": per[label]} if per.get(label) else {}))
                for label, entry in (result.get(key) or {}).items()}

    return merged("analog_after"), merged("analog_before")
