"""The type-check baseline (.ci/typecheck.py): errors are matched without line numbers, and the
checked-in baseline lists only errors that still occur (it only shrinks)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _typecheck():
    spec = importlib.util.spec_from_file_location("typecheck", ROOT / ".ci" / "typecheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_errors_are_keyed_by_file_and_message_not_line():
    tc = _typecheck()
    out = ('a/b.py:12: error: Bad thing  [misc]\n'
           'a/b.py:40:7: error: Bad thing  [misc]\n'
           'a/b.py:41: note: a note\n'
           'Found 2 errors in 1 file (checked 3 source files)\n')
    assert tc.errors(out) == {"a/b.py: Bad thing  [misc]": 2}


def test_a_new_error_or_a_fixed_one_shows_against_the_baseline():
    tc = _typecheck()
    base = tc.allowed("# comment\na.py: Old  [x]\na.py: Kept  [x]\n")
    now = tc.errors("a.py:1: error: Kept  [x]\na.py:2: error: New  [y]\n")
    assert list((now - base).elements()) == ["a.py: New  [y]"]
    assert list((base - now).elements()) == ["a.py: Old  [x]"]


def test_the_checked_in_baseline_names_only_checked_files():
    tc = _typecheck()
    for line in tc.allowed(tc.BASELINE.read_text()):
        path = line.split(":", 1)[0]
        assert (ROOT / path).is_file() and not path.startswith("codesign/accuracy/"), line
