"""Dotted paths (``hardware.pmca.tcdm_kib``): how a field of a study, a design point or an
accuracy setting is named, and the two ways one is set.

* :func:`set_path` sets it in plain data (parsed YAML, ``--set``, a Python mapping) before the
  strict decoder (:func:`codesign.decode.decode`) checks it:
  :func:`codesign.config.overrides.apply_overrides` is the one override path of user input.
* :func:`with_overrides` sets it in a typed value (a frozen dataclass) whose own checks run
  again: a trial's parameters on the design point, a test's settings.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def split_path(path: str) -> list[str]:
    """``'a.b.c'`` -> ['a', 'b', 'c']; ValueError on an empty path or an empty part (``a..b``)."""
    keys = str(path).strip().split(".")
    if not all(keys):
        raise ValueError(f"expected a dotted path such as hardware.pmca.tcdm_kib, got {path!r}")
    return keys


def set_path(data: dict, keys: list[str], value: Any, where: str) -> None:
    """Set ``keys`` (a split dotted path) in mapping ``data`` to ``value``, in place; missing
    mappings on the way are created. ValueError naming ``where`` when a step of the path holds
    something other than a mapping. Unknown keys are left to the decoder."""
    node = data
    for i, key in enumerate(keys[:-1]):
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ValueError(f"{where} {'.'.join(keys)}: {'.'.join(keys[:i + 1])} is not a mapping")
        node = child
    node[keys[-1]] = value


def with_overrides(obj: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` that also takes dotted paths (``training.steps=40``, or
    ``training__steps=40`` as a keyword): nested dataclasses are replaced, and each one's own
    checks (``__post_init__``) run on its new values."""
    nested: dict[str, dict[str, Any]] = {}
    flat: dict[str, Any] = {}
    for key, value in changes.items():
        head, _, rest = key.replace("__", ".").partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            flat[head] = value
    for head, sub in nested.items():
        flat[head] = with_overrides(getattr(obj, head), **sub)
    return dataclasses.replace(obj, **flat)
