"""The shape of the code a contributor extends: short functions, one parser of metric keys.

Scanned with :mod:`ast` over the package tree, so new modules (``codesign/study/`` once it is a
package) are held to the same rules without editing this file.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "codesign"
#: the longest function allowed, lines from ``def`` to its last line (the project's standard)
MAX_FUNCTION_LINES = 60
#: the accuracy model (torch training loops) is not held to it yet (issue 23)
EXEMPT_TREES = ("accuracy",)
#: single files exempt (none: codesign/study/ is a package of short functions)
EXEMPT_FILES: tuple[str, ...] = ()


def modules(exempt_trees=EXEMPT_TREES, exempt_files=EXEMPT_FILES):
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in exempt_trees or rel.as_posix() in exempt_files:
            continue
        yield rel, ast.parse(path.read_text(encoding="utf-8"))


def long_functions(tree: ast.AST, limit: int) -> list[tuple[str, int]]:
    return [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > limit]


def test_the_scan_sees_the_package_and_measures_a_function_as_a_reader_counts_it():
    names = {rel.as_posix() for rel, _ in modules()}
    assert {"metric_key.py", "cli/latency.py", "figures/__init__.py"} <= names
    assert not any(n.startswith("accuracy/") for n in names)
    sixty_one = "def f():\n" + "    x = 1\n" * 59 + "    return x\n"
    assert long_functions(ast.parse(sixty_one), MAX_FUNCTION_LINES) == [("f", 61)]
    assert long_functions(ast.parse(sixty_one), 61) == []


def test_no_function_outside_the_accuracy_model_is_longer_than_60_lines():
    found = [f"{rel}:{name} ({n} lines)" for rel, tree in modules()
             for name, n in long_functions(tree, MAX_FUNCTION_LINES)]
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines: " + ", ".join(found)


def _splits_at_sign(tree: ast.AST) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("partition", "rpartition", "split", "rsplit")
            and any(isinstance(a, ast.Constant) and a.value == "@" for a in node.args)]


def test_metric_keys_are_split_only_by_codesign_metric_key():
    assert _splits_at_sign(ast.parse('base, _, at = name.partition("@")')) == [1]
    # storage.py splits URLs at the '@' of their userinfo, not metric keys
    found = [f"{rel}:{line}" for rel, tree in modules((), ("metric_key.py", "storage.py"))
             for line in _splits_at_sign(tree)]
    assert not found, "a metric key split outside codesign/metric_key.py: " + ", ".join(found)
