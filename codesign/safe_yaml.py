"""The one YAML reader for user input (study files, search spaces, --set values, picked.yaml).

PyYAML's ``safe_load`` builds no Python objects beyond plain data, but it lets the last of two equal
keys win silently, recurses once per nesting level (RecursionError on a file nested a few thousand
levels deep) and expands aliases without limit. :func:`load_yaml` checks the event stream first
(iteratively: depth, expanded size) and then builds the data with a loader that refuses duplicate
keys; every problem is one :class:`~codesign.errors.InputError` line naming the input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from codesign.errors import InputError

#: deepest nesting of mappings and lists a study may use (real studies nest 4 levels)
MAX_DEPTH = 64
#: most values a document may expand to, aliases counted by what they repeat
MAX_NODES = 100_000
#: largest study or search-space file read
MAX_BYTES = 1 << 20


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML's own error follows
                break
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {first.line + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _check_shape(text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH and alias expansion beyond MAX_NODES (iteratively)."""
    depth = 0
    sizes: list[int] = [0]  # values expanded so far in each open collection
    anchors: dict[str, int] = {}
    open_anchors: list[str | None] = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Shape(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
            sizes.append(1)
            open_anchors.append(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            size = sizes.pop()
            anchor = open_anchors.pop()
            if anchor is not None:
                anchors[anchor] = size
            sizes[-1] += size
        elif isinstance(event, yaml.ScalarEvent):
            sizes[-1] += 1
            if event.anchor is not None:
                anchors[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            sizes[-1] += anchors.get(event.anchor, 1)
        if sum(sizes) > MAX_NODES:
            raise _Shape(f"expands to more than {MAX_NODES} values", event.start_mark)


class _Shape(Exception):
    def __init__(self, problem: str, mark):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


def load_yaml(text: str, where: str, source: Path | None = None) -> Any:
    """Parse YAML text (read from ``source``, if a file) into plain data; InputError
    (``WHERE: [SOURCE ]is not valid YAML at line L, column C: PROBLEM``) on any problem."""
    try:
        _check_shape(text)
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, _Shape) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        what = f"{source} is" if source is not None else "is"
        raise InputError(f"{where}: {what} not valid YAML{at}: {problem}") from None


def read_yaml_file(path: Path, where: str) -> Any:
    """Read and parse a UTF-8 YAML file; InputError naming the file on any I/O or syntax problem."""
    path = Path(path)
    try:
        if path.is_dir():
            raise InputError(f"{where}: {path} is a folder, not a YAML file")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{where}: file not found: {path}") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise InputError(f"{where}: {path} is larger than {MAX_BYTES // 1024} KiB; "
                         f"a study file is a few lines of YAML")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at "
                         f"offset {exc.start})") from None
    return load_yaml(text, where, source=path)
