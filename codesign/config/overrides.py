"""Dotted overrides (``--set hardware.pmca.tcdm_kib=256``) applied to parsed YAML before decoding."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from codesign.errors import InputError


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=VALUE`` -> (["a", "b", "c"], VALUE parsed as YAML: 256 -> int, [1, 2] -> list)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise InputError("--set: expected KEY.PATH=VALUE (e.g. hardware.pmca.tcdm_kib=256), "
                         f"got {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        raise InputError(f"--set {key}: value {raw!r} is not valid YAML") from None
    return key.split("."), value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """A copy of ``data`` with each ``KEY.PATH=VALUE`` set; intermediate mappings are created.

    Unknown keys are not refused here: the strict decoder that follows names them.
    """
    out = copy.deepcopy(data)
    for text in overrides:
        keys, value = parse_override(text)
        node = out
        for i, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                raise InputError(f"--set {'.'.join(keys)}: {'.'.join(keys[:i + 1])} is not a mapping")
            node = child
        node[keys[-1]] = value
    return out
