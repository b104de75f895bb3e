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


def add_converter_bits(parser, adc_default: str, dac_default: str) -> None:
    """--adc-bits and --dac-bits, the tile's converter resolutions, as every subcommand names them."""
    parser.add_argument("--adc-bits", type=positive_int("--adc-bits"), default=None, metavar="B",
                        help=f"ADC resolution of the tile outputs, bits (default {adc_default})")
    parser.add_argument("--dac-bits", type=positive_int("--dac-bits"), default=None, metavar="B",
                        help=f"DAC resolution of the tile inputs, bits (default {dac_default})")


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
