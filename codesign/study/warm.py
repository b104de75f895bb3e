"""Warm starts: which adapter the training ledger starts a new setting from (``search.warm_start``).

Two settings of one *family* (the same train key but for the warm axes: rank, converter bits,
training integration time) may warm-start each other; the nearest by :func:`distance` is chosen.
"""

from __future__ import annotations

import json
import math
from typing import Optional

from codesign.accuracy import cache

#: the knobs a warm start may change: (scale, weight). The adapters learn to compensate the
#: tiles' noise, which the converters' bits and the integration time set, while the rank sets
#: only their capacity; so a neighbour with the same noise and another rank is the nearest
#: (a stated choice: one octave of rank counts 0.5, one converter bit 1, one octave of
#: integration time 2)
WARM_AXES = {"rank": ("log2", 0.5), "adc_bits": ("linear", 1.0), "dac_bits": ("linear", 1.0),
             "train_integration_ns": ("log2", 2.0)}


def family(key_data: dict, across: tuple[str, ...] = tuple(WARM_AXES),
           placement: bool = False) -> str:
    """What two settings must share for one to warm-start the other: the train key data without
    the warm axes a warm start may change (``across``, ``search.warm_start_axes``: by default
    the rank; screens: all four) and, with ``placement``, without the LoRA placement (a
    placement screen, whose start must also :func:`covers` the new placement's layers)."""
    data = json.loads(json.dumps(key_data, default=str))
    for name in ("adc_bits", "dac_bits", "train_integration_ns"):
        if name in across:
            data["aimc"].pop(name, None)
    if data.get("lora") and "rank" in across:
        data["lora"].pop("rank", None)
    if data.get("lora") and placement:
        data["lora"].pop("placement", None)
    return cache.digest(data)


def roles(key_data: dict) -> Optional[list[str]]:
    """The layer roles a setting's adapters sit on (sorted), None without adapters."""
    from hw_models.specs import roles as placement_roles

    lora = key_data.get("lora")
    if not lora or "placement" not in lora:
        return None
    return sorted(placement_roles(lora["placement"]))


def covers(start: Optional[list], target: Optional[list]) -> bool:
    """Whether an adapter on the roles ``start`` may start one on ``target``: it has every
    layer the new one needs (:func:`codesign.accuracy.lora.load_adapter_transfer` keeps those
    and drops the rest; a layer it lacked would start untrained)."""
    return start is not None and target is not None and set(target) <= set(start)


def warm_axes(key_data: dict) -> dict[str, float]:
    aimc, lora = key_data["aimc"], key_data.get("lora") or {}
    return {"rank": lora.get("rank"), "adc_bits": aimc["adc_bits"], "dac_bits": aimc["dac_bits"],
            "train_integration_ns": aimc.get("train_integration_ns")}


def _weighted(a: dict, b: dict, weights: dict) -> float:
    """Sum over the warm axes of weight x difference (octaves for "log2" axes); inf when one
    side lacks an axis the other has."""
    total = 0.0
    for name, (scale, weight) in weights.items():
        x, y = a.get(name), b.get(name)
        if x == y:
            continue
        if x is None or y is None:
            return math.inf
        total += weight * (abs(math.log2(x / y)) if scale == "log2" else abs(x - y))
    return total


def distance(a: dict, b: dict) -> float:
    """How far apart two settings of one family are (0: the same warm axes)."""
    return _weighted(a, b, WARM_AXES)


#: what a screen (1/16 of the steps, :mod:`codesign.study.promotion`) loses against a full
#: training, per unit of what it changed, in accuracy points, as measured on
#: benchmarks/search_efficiency.py --joint (``screen_by/...``, median over 10 seeds of
#: tpe_screen_opt and of tpe_screen_pl_75: two ADC bits 1.60 and 1.55, an octave of training
#: integration time 0.17 and 0.33, another placement with the same noise 0.77 (7 points); DAC
#: bits, not varied there, weighed as ADC bits; the rank as its warm starts, 0.05).
#: ``search.screen_start: loss`` picks a screen's start by the sum
SCREEN_LOSS = {"rank": ("log2", 0.05), "adc_bits": ("linear", 0.75),
               "dac_bits": ("linear", 0.75), "train_integration_ns": ("log2", 0.2)}
#: ...plus this when the start sits at another (containing) placement
SCREEN_LOSS_PLACEMENT = 0.9


def screen_loss(target: dict, start: dict) -> float:
    """The accuracy points a screen of ``target`` from ``start`` is expected to lose (ledger
    records with "axes" and "roles"), by :data:`SCREEN_LOSS`; inf when the axes are unknown."""
    moved = 0.0 if target.get("roles") == start.get("roles") else SCREEN_LOSS_PLACEMENT
    return moved + _weighted(target["axes"], start["axes"], SCREEN_LOSS)


def cheapest_screen(target: dict, candidates: list[dict]) -> Optional[dict]:
    """The start of a screen of ``target`` by :func:`screen_loss`: among ``candidates`` of its
    family (each with the family it shares: same placement, or a placement that
    :func:`covers` the target's layers), the smallest expected loss, then one trained from
    scratch, then the earliest."""
    same = [c for c in candidates if c["family"] == target["family"]
            and covers(c.get("roles"), target.get("roles"))
            and math.isfinite(screen_loss(target, c))]
    if not same:
        return None
    return min(same, key=lambda c: (screen_loss(target, c), c.get("start") is not None,
                                    c["number"]))


def nearest_start(target: dict, candidates: list[dict]) -> Optional[dict]:
    """The candidate to warm-start ``target`` from: same family, smallest :func:`distance`, then
    (when the target names its ``roles``: a placement screen) a start that :func:`covers` them
    with the fewest other layers, then one trained from scratch over a warm-started one, then
    the earliest. Candidates and target are ledger records ({"family", "axes", "adapter_key",
    "start", "number"}, and "roles")."""
    want = target.get("roles")
    same = [c for c in candidates if c["family"] == target["family"]
            and math.isfinite(distance(target["axes"], c["axes"]))
            and (want is None or covers(c.get("roles"), want))]
    if not same:
        return None
    return min(same, key=lambda c: (distance(target["axes"], c["axes"]),
                                    len(c.get("roles") or ()) if want is not None else 0,
                                    c.get("start") is not None, c["number"]))
