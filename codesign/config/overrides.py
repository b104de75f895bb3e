"""The one override path of user input: ``KEY.PATH=VALUE`` texts (``--set``, the YAML value
parsed) or a Python mapping ``{"KEY.PATH": value}``, applied to plain data before the strict
decoder (:func:`codesign.decode.decode`) checks the result."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Mapping, Sequence, TypeVar, Union

from codesign.decode import decode
from codesign.dotted import set_path, split_path
from codesign.errors import InputError
from codesign.safe_yaml import load_yaml

#: overrides as the command line gives them (texts) or as Python does (a mapping)
Overrides = Union[Sequence[str], Mapping[str, Any]]
T = TypeVar("T")


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=VALUE`` -> (["a", "b", "c"], VALUE parsed as YAML: 256 -> int, [1, 2] -> list)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    try:
        keys = split_path(key) if sep else []
    except ValueError:
        keys = []
    if not keys:
        raise InputError("--set: expected KEY.PATH=VALUE (e.g. hardware.pmca.tcdm_kib=256), "
                         f"got {text!r}")
    value = load_yaml(raw, f"--set {key}: value {raw[:40]!r}") if raw.strip() else None
    return keys, value


def override_items(overrides: Overrides) -> list[tuple[list[str], Any]]:
    """(split path, value) of each override, texts parsed (:func:`parse_override`), a mapping's
    values taken as they are; InputError naming ``--set`` for a bad one."""
    if isinstance(overrides, Mapping):
        items = []
        for key, value in overrides.items():
            try:
                items.append((split_path(key), value))
            except ValueError:
                raise InputError(f"--set: expected a dotted path such as "
                                 f"hardware.pmca.tcdm_kib, got {key!r}") from None
        return items
    if isinstance(overrides, str):
        raise InputError("--set: expected a list of 'KEY.PATH=VALUE' strings or a mapping, "
                         f"got the string {overrides[:40]!r}")
    return [parse_override(text) for text in overrides]


def apply_overrides(data: dict, overrides: Overrides) -> dict:
    """A copy of ``data`` with each override set; intermediate mappings are created.

    Unknown keys are not refused here: the strict decoder that follows names them.
    """
    out = copy.deepcopy(data)
    for keys, value in override_items(overrides):
        try:
            set_path(out, keys, value, "--set")
        except ValueError as exc:
            raise InputError(str(exc)) from None
    return out


def override(obj: T, overrides: Overrides, path: str = "") -> T:
    """A typed value (a dataclass) with overrides applied, decoded as strictly as a study file's
    section of that type (``path``: its place there, for messages); ``obj`` itself when there
    are none."""
    if not overrides:
        return obj
    data = apply_overrides(dataclasses.asdict(obj), overrides)  # type: ignore[call-overload]
    return decode(type(obj), data, path)
