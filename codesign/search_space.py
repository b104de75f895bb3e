"""Search spaces as data: YAML axes -> Optuna distributions (one pure function) -> design points.

A search space maps an axis name to its values::

    rank:            {choices: [1, 2, 4, 8, 16]}
    adc_bits:        {low: 4, high: 8}                 # integers 4..8
    hardware.pmca.clock_ghz: {low: 0.5, high: 1.0, step: 0.25}

An axis name is a dotted path into the design point (``hardware.aimc.adc_bits``) or one of the
short :data:`ALIASES`. Every value is checked against the field's type and bounds when the space is
loaded, so a bad space fails before the first trial.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from codesign.decode import check_field, decode
from codesign.dotted import with_overrides
from codesign.errors import InputError
from codesign.safe_yaml import read_yaml_file

#: short axis names -> dotted paths into the design point
ALIASES: dict[str, str] = {
    "rank": "lora.rank",
    "placement": "lora.placement",
    "lora_alpha": "lora.alpha",
    "adc_bits": "hardware.aimc.adc_bits",
    "dac_bits": "hardware.aimc.dac_bits",
    "integration_ns": "hardware.aimc.integration_ns",
    "tokens": "hardware.tokens",
    "tcdm_kib": "hardware.pmca.tcdm_kib",
    "redmule_fma": "hardware.pmca.redmule_fma",
    "clock_ghz": "hardware.pmca.clock_ghz",
    "adc_kind": "hardware.aimc.adc_kind",
    "dac_kind": "hardware.aimc.dac_kind",
    "attention": "hardware.attention.mapping",
    "weight_noise": "accuracy.noise.weight_noise",
    "train_noise_model": "accuracy.noise.train_noise_model",
    "clip_sigma": "accuracy.noise.clip_sigma",
    "seq_len": "workload.seq_len",
    "generate": "workload.generate",
}

SEARCH_SPACE_DIR = Path(__file__).resolve().parent.parent / "search_spaces"


@dataclass(frozen=True)
class Axis:
    """One searched parameter: either explicit choices or a numeric range."""

    choices: Optional[list[Union[int, float, str, bool]]] = None
    low: Optional[float] = None
    high: Optional[float] = None
    step: Optional[float] = None
    log: bool = False


def resolve_path(name: str) -> str:
    """The dotted path an axis or flag name stands for: 'adc_bits' -> 'hardware.aimc.adc_bits'."""
    return ALIASES.get(name, name)


def param_name(path: str) -> str:
    """The name a parameter has in the study and its tables: the short alias when there is one."""
    return _NAMES.get(path, path)


_NAMES = {path: name for name, path in ALIASES.items()}


def placement_value(value: Any, sep: str = "+") -> Any:
    """A placement as text -> what LoraSpec takes: 'query+value' -> ('query', 'value'); a placement
    name ('qkv') and anything that is not text stay as they are. Flags join roles with ','."""
    if isinstance(value, str) and sep in value:
        return tuple(part.strip() for part in value.split(sep) if part.strip())
    return value


def field_of(root: Any, path: str, where: str) -> tuple[Any, Any]:
    """(type hint, dataclasses.Field) of the leaf that a dotted path names in ``root``'s class."""
    cls = type(root)
    obj = root
    keys = path.split(".")
    for i, key in enumerate(keys):
        fields = {f.name: f for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
        if key not in fields:
            known = ", ".join(sorted(ALIASES)) if i == 0 else ", ".join(fields)
            raise InputError(f"{where}: {path!r} names no design parameter; known: {known}"
                             + (" (or a dotted path such as hardware.pmca.tcdm_kib)" if i == 0 else ""))
        hint = typing.get_type_hints(cls)[key]
        if i == len(keys) - 1:
            if dataclasses.is_dataclass(getattr(obj, key)):
                raise InputError(f"{where}: {path!r} is a group of parameters, not one parameter")
            return hint, fields[key]
        obj = getattr(obj, key)
        cls = type(obj)
    raise AssertionError("unreachable")


def _check_value(hint: Any, f: Any, value: Any, where: str) -> Any:
    """Decode one axis value as its design field would be, including bounds."""
    if typing.get_origin(hint) is Union:
        value = placement_value(value)
    decoded = decode(hint, value, where)
    check_field(where, decoded, f.metadata)
    return decoded


def _check_placement(design: Any, path: str, value: Any, where: str) -> None:
    """A placement choice that LoraSpec takes ('query+bogus' is no list of roles)."""
    from hw_models import SpecError

    try:
        apply_params(design, {path: value})
    except SpecError as exc:
        raise InputError(f"{where}: {str(exc).partition(': ')[2] or exc}") from None


def load_space(spec: Union[str, dict], design: Any, where: str = "search_space") -> dict[str, Axis]:
    """Read (file name, path or inline mapping) and check a search space against a design point."""
    if isinstance(spec, str):
        data = read_yaml_file(find_space_file(spec, where), where)
    else:
        data = spec
    if not isinstance(data, dict) or not data:
        raise InputError(f"{where}: must name at least one axis (e.g. rank: {{choices: [4, 8]}})")
    axes: dict[str, Axis] = {}
    seen: dict[str, str] = {}
    for name, raw in data.items():
        here = f"{where}.{name}"
        path = resolve_path(str(name))
        if path in seen:
            raise InputError(f"{here}: the same parameter as axis {seen[path]!r} ({path})")
        seen[path] = str(name)
        axis = decode(Axis, raw, here)
        hint, f = field_of(design, path, here)
        if (axis.choices is None) == (axis.low is None and axis.high is None):
            raise InputError(f"{here}: give either choices: [...] or low: and high:")
        if axis.choices is not None:
            if not axis.choices:
                raise InputError(f"{here}.choices: must not be empty")
            if len(set(map(repr, axis.choices))) != len(axis.choices):
                raise InputError(f"{here}.choices: repeats a value")
            for i, value in enumerate(axis.choices):
                _check_value(hint, f, value, f"{here}.choices[{i}]")
                if path.endswith("placement"):   # roles are checked by LoraSpec, not the decoder
                    _check_placement(design, path, value, f"{here}.choices[{i}]")
        else:
            if axis.low is None or axis.high is None:
                raise InputError(f"{here}: a range needs both low: and high:")
            if axis.low > axis.high:
                raise InputError(f"{here}: low ({axis.low:g}) is above high ({axis.high:g})")
            if axis.step is not None and axis.step <= 0:
                raise InputError(f"{here}.step: must be > 0, got {axis.step:g}")
            if axis.log and axis.low <= 0:
                raise InputError(f"{here}.low: must be > 0 for a log axis, got {axis.low:g}")
            if _is_int(hint):
                axis = _integer_axis(axis, here)
            for end, value in (("low", axis.low), ("high", axis.high)):
                _check_value(hint, f, value, f"{here}.{end}")
        axes[path] = axis
    return axes


def _integer_axis(axis: Axis, where: str) -> Axis:
    """The range of an integer field with integer ends and step (8.0 -> 8; 8.5 is refused)."""
    ends: dict[str, Any] = {}
    for end in ("low", "high", "step"):
        value = getattr(axis, end)
        if value is not None:
            if float(value) != int(value):
                raise InputError(f"{where}.{end}: this parameter is an integer; got {value:g}")
            ends[end] = int(value)
    return dataclasses.replace(axis, **ends)


def _is_int(hint: Any) -> bool:
    return hint is int


def to_distributions(axes: dict[str, Axis], design: Any) -> dict[str, Any]:
    """The pure mapping from axes to Optuna distributions (table-tested)."""
    from optuna.distributions import (BaseDistribution, CategoricalDistribution,
                                      FloatDistribution, IntDistribution)

    out: dict[str, BaseDistribution] = {}
    for path, axis in axes.items():
        if axis.choices is not None:
            out[path] = CategoricalDistribution(list(axis.choices))
            continue
        assert axis.low is not None and axis.high is not None  # load_space refuses half a range
        hint, _ = field_of(design, path, f"search_space.{path}")
        if _is_int(hint):
            step = int(axis.step) if axis.step is not None else 1
            out[path] = IntDistribution(int(axis.low), int(axis.high), log=axis.log,
                                        step=1 if axis.log else step)
        else:
            out[path] = FloatDistribution(float(axis.low), float(axis.high), log=axis.log,
                                          step=None if axis.log else axis.step)
    return out


#: the most points a grid may have (the grid sampler holds them all in memory)
MAX_GRID_POINTS = 100_000


def grid(axes: dict[str, Axis], design: Any) -> dict[str, list]:
    """Every value of every axis, for the grid sampler; continuous axes without a step, and grids
    of more than MAX_GRID_POINTS points, are refused."""
    counts = {}
    dists = to_distributions(axes, design)
    for path, dist in dists.items():
        if hasattr(dist, "choices"):
            counts[path] = len(dist.choices)
        elif dist.step is None:
            raise InputError(f"search_space.{path}: the grid sampler needs choices or a step")
        else:
            counts[path] = int(math.floor((dist.high - dist.low) / dist.step + 1e-9)) + 1
    if math.prod(counts.values()) > MAX_GRID_POINTS:
        sizes = " x ".join(f"{n} ({param})" for param, n in counts.items())
        raise InputError(f"search_space: a grid of {sizes} points is more than the "
                         f"{MAX_GRID_POINTS} the grid sampler allows; use a larger step, fewer "
                         f"choices or another sampler")
    return {path: list(dist.choices) if hasattr(dist, "choices")
            else [type(dist.low)(dist.low + i * dist.step) for i in range(counts[path])]
            for path, dist in dists.items()}


def grid_size(axes: dict[str, Axis], design: Any) -> int:
    return math.prod(len(v) for v in grid(axes, design).values())


def apply_params(design: Any, params: dict[str, Any]) -> Any:
    """A new design point with each dotted-path parameter set in turn
    (:func:`codesign.dotted.with_overrides`: each changed dataclass checks itself again)."""
    for path, value in params.items():
        if path.endswith("placement"):
            value = placement_value(value)
        design = with_overrides(design, **{path: value})
    return design


def value_at(design: Any, path: str) -> Any:
    """The value a dotted path names in a design point: value_at(d, 'hardware.tokens')."""
    for key in path.split("."):
        design = getattr(design, key)
    return design


def find_space_file(name: str, where: str) -> Path:
    path = Path(name)
    candidates = [path] if path.suffix else [path.with_suffix(".yaml")]
    if not path.is_absolute():
        candidates += [SEARCH_SPACE_DIR / c.name for c in candidates]
    for c in candidates:
        if c.is_file():
            return c
    raise InputError(f"{where}: no search-space file {name!r} (looked in ., {SEARCH_SPACE_DIR})")
