"""Dotted overrides (``--set hardware.pmca.tcdm_kib=256``) applied to parsed YAML before decoding."""

from __future__ import annotations

import copy
from typing import Any

from codesign.errors import InputError
from codesign.safe_yaml import load_yaml


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=VALUE`` -> (["a", "b", "c"], VALUE parsed as YAML: 256 -> int, [1, 2] -> list)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise InputError("--set: expected KEY.PATH=VALUE (e.g. hardware.pmca.tcdm_kib=256), "
                         f"got {text!r}")
    value = load_yaml(raw, f"--set {key}: value {raw[:40]!r}") if raw.strip() else None
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
