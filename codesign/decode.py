"""Strict decoding of plain data (parsed YAML) into typed dataclasses.

One pure function, :func:`decode`, driven by the dataclass annotations and the field metadata of
``hw_models.spec_field``: unknown keys, wrong types and out-of-range values are refused with
an :class:`~codesign.errors.InputError` whose one-line message starts with the field path, e.g.
``hardware.pmca.tcdm_kib: must be >= 1, got 0``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union

from hw_models import SpecError, check_value

from codesign.errors import InputError


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        return "a list"
    if origin is dict:
        return "a mapping"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def decode(tp: Any, data: Any, path: str = "") -> Any:
    """Turn ``data`` into a value of type ``tp`` or raise InputError naming ``path``."""
    where = path or "<top level>"
    if tp in (list, tuple, dict):
        tp = {list: list[Any], tuple: tuple[Any, ...], dict: dict[str, Any]}[tp]
    origin = typing.get_origin(tp)
    if tp is Any:
        return data
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, data, path)
    if origin is Literal:
        if data in typing.get_args(tp):
            return data
        raise InputError(f"{where}: must be {_type_name(tp)}; got {_show(data)}")
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return decode(arg, data, path)
            except InputError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise InputError(f"{where}: must be {_type_name(tp)}; got {_show(data)}")
    if origin in (list, tuple):
        if not isinstance(data, (list, tuple)):
            raise InputError(f"{where}: must be a list; got {_show(data)}")
        args = typing.get_args(tp)
        item_tp = args[0] if args else Any
        items = [decode(item_tp, x, f"{path}[{i}]") for i, x in enumerate(data)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(data, dict):
            raise InputError(f"{where}: must be a mapping; got {_show(data)}")
        _, val_tp = typing.get_args(tp) or (str, Any)
        return {str(k): decode(val_tp, v, f"{path}.{k}" if path else str(k)) for k, v in data.items()}
    if tp is bool:
        if isinstance(data, bool):
            return data
    elif tp is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
    elif tp is float:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return float(data)
    elif tp is str:
        if isinstance(data, str):
            return data
    elif isinstance(tp, type) and isinstance(data, tp):
        return data
    raise InputError(f"{where}: must be {_type_name(tp)}; got {_show(data)}")


def _decode_dataclass(cls: type, data: Any, path: str) -> Any:
    where = path or "<top level>"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{where}: must be a mapping; got {_show(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        sub = f"{path}.{unknown[0]}" if path else str(unknown[0])
        raise InputError(f"{sub}: unknown key; allowed: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        sub = f"{path}.{name}" if path else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InputError(f"{sub}: required")
            continue
        value = decode(hints[name], data[name], sub)
        if isinstance(value, (list, tuple)) and f.metadata.get("choices") is None:
            for i, item in enumerate(value):
                if not dataclasses.is_dataclass(item):
                    check_field(f"{sub}[{i}]", item, f.metadata)
        else:
            check_field(sub, value, f.metadata)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except SpecError as exc:
        # a cross-field check in __post_init__: its message is relative to this class (or already
        # starts with this class's own name): prefix the enclosing path once
        text = str(exc)
        if not path:
            raise InputError(text) from None
        parent, _, own = path.rpartition(".")
        if text.startswith(own + ".") or text.startswith(own + ":"):
            raise InputError(f"{parent}.{text}" if parent else text) from None
        raise InputError(f"{path}.{text}") from None


def check_field(path: str, value: Any, metadata: Any) -> None:
    """Check one decoded value against its field's bounds; InputError naming ``path``."""
    try:
        check_value(path, value, metadata)
    except SpecError as exc:
        raise InputError(str(exc)) from None
