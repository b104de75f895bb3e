"""Documented, bounded dataclass fields and their validation.

Every configuration dataclass in hw_models (and in codesign, which reuses this module) declares its
fields with :func:`spec_field`, so that each field carries its meaning, unit and allowed range as
data. :func:`validate` walks a dataclass instance and raises :class:`SpecError` naming the first
offending field path, e.g. ``aimc.integration_ns: must be > 0, got -5``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence


class SpecError(ValueError):
    """A hardware or workload parameter outside what the model allows.

    The message is one line that starts with the field path (``pmca.tcdm_kib: ...``).
    """


def spec_field(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    unit: str | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: Sequence[Any] | None = None,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field with its documentation, unit and bounds kept as metadata."""
    metadata = {"help": help, "unit": unit, "ge": ge, "gt": gt, "le": le, "lt": lt,
                "choices": tuple(choices) if choices is not None else None}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_value(path: str, value: Any, metadata: dict) -> None:
    """Raise SpecError if ``value`` breaks the bounds in a field's ``metadata``."""
    choices = metadata.get("choices")
    if choices is not None and value not in choices:
        allowed = ", ".join(str(c) for c in choices)
        raise SpecError(f"{path}: must be one of {allowed}; got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"{path}: must be a finite number, got {value!r}")
    for key, ok, word in (("gt", lambda v, b: v > b, ">"), ("ge", lambda v, b: v >= b, ">="),
                          ("lt", lambda v, b: v < b, "<"), ("le", lambda v, b: v <= b, "<=")):
        bound = metadata.get(key)
        if bound is not None and not ok(value, bound):
            raise SpecError(f"{path}: must be {word} {bound:g}, got {value!r}")


def validate(obj: Any, path: str = "") -> None:
    """Check every bounded field of a (nested) dataclass instance; raise SpecError on the first."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        sub = f"{path}.{f.name}" if path else f.name
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            validate(value, sub)
        elif isinstance(value, (list, tuple)) and f.metadata.get("choices") is None:
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    validate(item, f"{sub}[{i}]")
                else:
                    check_value(f"{sub}[{i}]", item, f.metadata)
        else:
            check_value(sub, value, f.metadata)

