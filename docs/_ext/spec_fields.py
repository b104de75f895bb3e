"""Sphinx extension: the fields of codesign's and hw_models' dataclasses in the API reference.

Every field made with :func:`hw_models.spec_field` carries its meaning, unit and bounds as
metadata (the same text ``--help`` and error messages use). This hook appends them to the class's
docstring as ``:param:`` lines, so ``HardwareSpec``, ``AimcTileSpec``, ``StudyConfig`` ... list
each field with its unit, allowed range and default, read from the code itself.
"""

from __future__ import annotations

import dataclasses
import re

_SPECIAL = re.compile(r"([\\*`|_])")       # reST markup characters, escaped in help texts


def _escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _default(field: dataclasses.Field) -> str | None:
    if field.default is not dataclasses.MISSING:
        return repr(field.default)
    return None                              # factories: a nested spec, shown by its own class


def _bounds(meta: dict) -> str:
    parts = [f"{op} {meta[key]}" for key, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
             if meta.get(key) is not None]
    if meta.get("choices"):
        parts.append("one of " + ", ".join(str(c) for c in meta["choices"]))
    return ", ".join(parts)


def field_line(field: dataclasses.Field) -> str | None:
    """One ``:param:`` line for a documented field, or None for a field without help."""
    meta = dict(field.metadata)
    if not meta.get("help"):
        return None
    facts = [f for f in (meta.get("unit") and f"unit: {meta['unit']}", _bounds(meta),
                         _default(field) and f"default {_default(field)}") if f]
    tail = f" ({'; '.join(facts)})" if facts else ""
    return f":param {field.name}: {_escape(meta['help'] + tail)}"


def _append_fields(app, what, name, obj, options, lines) -> None:
    if what != "class" or not dataclasses.is_dataclass(obj):
        return
    if not name.startswith(("codesign", "hw_models")):
        return
    extra = [line for f in dataclasses.fields(obj) if (line := field_line(f))]
    if extra:
        lines.extend(["", *extra])


def setup(app):
    app.connect("autodoc-process-docstring", _append_fields)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
