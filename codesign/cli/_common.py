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


def positive_int(flag: str, maximum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be a positive integer, got {text[:40]!r}")
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{flag} must be a positive integer, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{flag} must be at most {maximum}, got {text[:40]}")
        return value
    return parse


def nonneg_int(flag: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be an integer >= 0, got {text!r}")
        if value < 0:
            raise argparse.ArgumentTypeError(f"{flag} must be an integer >= 0, got {text!r}")
        return value
    return parse


def positive_float(flag: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be a positive number, got {text!r}")
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{flag} must be a positive number, got {text!r}")
        return value
    return parse


#: the widest layer --layer takes (LLaMA-3.1-405B's widest is 53248)
MAX_LAYER_DIM = 131072


def parse_layer(text: str) -> tuple[int, int]:
    """``512x128`` -> (512 inputs, 128 outputs)."""
    parts = text.lower().split("x")
    try:
        m, n = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--layer must be MxN with positive integers (e.g. 512x128), "
                                         f"got {text!r}")
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
