"""Helpers shared by the subcommand modules: help formatting, JSON output, typed flag parsers."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from codesign.errors import InputError


def add_command(sub, name: str, *, help: str, description: str, examples: str):
    """Register a subcommand whose --help ends with worked examples."""
    return sub.add_parser(name, help=help, description=description,
                          epilog="examples:\n" + examples,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _number(flag: str, kind: type, ok, what: str):
    """An argparse type: ``kind(text)`` that passes ``ok``, else one line naming the flag."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"{flag} must be {what}, got {text[:40]!r}")
        return value
    return parse


def positive_int(flag: str, maximum: int | None = None):
    if maximum is None:
        return _number(flag, int, lambda v: v > 0, "a positive integer")
    return _number(flag, int, lambda v: 0 < v <= maximum, f"a positive integer at most {maximum}")


def nonneg_int(flag: str):
    return _number(flag, int, lambda v: v >= 0, "an integer >= 0")


def positive_float(flag: str):
    return _number(flag, float, lambda v: math.isfinite(v) and v > 0, "a positive number")


def _bound_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def field_spec(path: str) -> tuple[type, dict]:
    """(int or float, spec_field metadata) of a design field named by its dotted path in
    :class:`~codesign.config.study.DesignPoint` (``accuracy.training.steps``), looked up as a
    search-space axis is (:func:`codesign.search_space.field_of`)."""
    import typing

    from codesign.config.study import DesignPoint
    from codesign.search_space import field_of

    hint, f = field_of(DesignPoint(), path, path)
    kind = next((a for a in typing.get_args(hint) if a is not type(None)), hint)  # Optional[int]
    return kind, dict(f.metadata)


def field_range(path: str, **tighter: float) -> str:
    """The values a design field allows, as a flag's message and the README say them:
    ``1 .. 16``, ``> 0 and < 1``. ``tighter`` narrows a bound (``ge=1`` for a rank that the
    accuracy model needs >= 1)."""
    _, meta = field_spec(path)
    meta.update(tighter)
    low = (f"{_bound_text(meta['ge'])}" if meta.get("ge") is not None else
           f"> {_bound_text(meta['gt'])}" if meta.get("gt") is not None else None)
    high = (f"{_bound_text(meta['le'])}" if meta.get("le") is not None else
            f"< {_bound_text(meta['lt'])}" if meta.get("lt") is not None else None)
    if low and high and not low.startswith(">") and not high.startswith("<"):
        return f"{low} .. {high}"
    low = f">= {low}" if low and not low.startswith(">") else low
    high = f"<= {high}" if high and not high.startswith("<") else high
    return " and ".join(x for x in (low, high) if x) or "any value"


def field_flag(flag: str, path: str, **tighter: float):
    """An argparse type for a flag that sets the design field ``path`` (a dotted path in
    :class:`~codesign.config.study.DesignPoint`): the field's own type and bounds, so that a flag
    accepts exactly what the study file's field accepts (one line naming the flag and the field
    otherwise)."""
    from hw_models import SpecError, check_value

    kind, meta = field_spec(path)
    meta.update(tighter)

    def ok(value) -> bool:
        try:
            check_value(path, value, meta)
        except SpecError:
            return False
        return True

    allowed = field_range(path, **tighter)
    what = f"{'an integer' if kind is int else 'a number'} {'in ' if '..' in allowed else ''}" \
           f"{allowed} ({path})"
    return _number(flag, kind, ok, what)


def add_converter_bits(parser, adc_default: str, dac_default: str) -> None:
    """--adc-bits and --dac-bits, the tile's converter resolutions, as every subcommand names them
    (the bounds of hardware.aimc.adc_bits / dac_bits)."""
    parser.add_argument("--adc-bits", type=field_flag("--adc-bits", "hardware.aimc.adc_bits"),
                        default=None, metavar="B",
                        help=f"ADC resolution of the tile outputs, bits, "
                             f"{field_range('hardware.aimc.adc_bits')} (default {adc_default})")
    parser.add_argument("--dac-bits", type=field_flag("--dac-bits", "hardware.aimc.dac_bits"),
                        default=None, metavar="B",
                        help=f"DAC resolution of the tile inputs, bits, "
                             f"{field_range('hardware.aimc.dac_bits')} (default {dac_default})")


#: the widest layer --layer takes (LLaMA-3.1-405B's widest is 53248)
MAX_LAYER_DIM = 131072


def parse_layer(text: str) -> tuple[int, int]:
    """``512x128`` -> (512 inputs, 128 outputs)."""
    parts = text.lower().split("x")
    try:
        m, n = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--layer must be MxN with positive integers (e.g. 512x128), "
                                         f"got {text!r}") from None
    if m <= 0 or n <= 0:
        raise argparse.ArgumentTypeError(f"--layer must be MxN with positive integers (e.g. 512x128), "
                                         f"got {text!r}")
    if max(m, n) > MAX_LAYER_DIM:
        raise argparse.ArgumentTypeError(f"--layer: M and N must be at most {MAX_LAYER_DIM}, "
                                         f"got {text[:40]!r}")
    return m, n


def print_json(obj: Any) -> None:
    """Print ``obj`` as strict JSON; a non-finite number (no JSON has NaN or Infinity) means the
    inputs lie outside what the model handles: InputError naming the value."""
    try:
        text = json.dumps(obj, indent=2, sort_keys=False, default=_jsonable, allow_nan=False)
    except ValueError:
        raise InputError(f"the result holds a non-finite number ({_first_non_finite(obj)}): an "
                         f"input is outside what the model handles") from None
    sys.stdout.write(text + "\n")


def _first_non_finite(obj: Any, path: str = "") -> str:
    if isinstance(obj, dict):
        found = [_first_non_finite(v, f"{path}.{k}" if path else str(k)) for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)):
        found = [_first_non_finite(v, f"{path}[{i}]") for i, v in enumerate(obj)]
    else:
        value = obj.item() if hasattr(obj, "item") else obj
        return f"{path} = {value}" if isinstance(value, float) and not math.isfinite(value) else ""
    return next((f for f in found if f), "")


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def require(condition: bool, message: str) -> None:
    if not condition:
        raise InputError(message)
