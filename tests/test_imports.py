"""Every module of codesign and hw_models imports on its own, in a fresh interpreter, and no two
modules import each other, not even through an import inside a function.

An import cycle hides while callers happen to import modules in a lucky order; importing each module
first and alone is what a user's ``python -c "import codesign.search_space"`` does.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import codesign
import hw_models

ROOT = Path(__file__).resolve().parent.parent


def _modules(package) -> list[str]:
    """The package and its modules, less ``__main__`` (importing that one runs the CLI)."""
    names = [package.__name__]
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.name.endswith(".__main__"):
            names.append(info.name)
    return names


MODULES = _modules(codesign) + _modules(hw_models)


def test_the_walk_finds_the_packages_modules():
    assert "codesign.search_space" in MODULES and "hw_models.system" in MODULES
    assert "codesign.cli.pick" in MODULES and "codesign.accuracy.engine" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module):
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1:]


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """The project modules that ``module`` imports anywhere in its file (lazy imports in functions
    too), with the packages whose ``__init__`` each import runs; its own packages left out."""
    parts = module.split(".")
    own = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = parts[:len(parts) - node.level + is_package] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            names = [name] + [f"{name}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            pieces = name.split(".")
            out |= {p for p in (".".join(pieces[:i]) for i in range(1, len(pieces) + 1))
                    if p in known and p not in own}
    return out


def test_no_import_cycle_even_through_lazy_imports():
    files = {}
    for package in (codesign, hw_models):
        top = Path(package.__file__).parent
        for path in top.rglob("*.py"):
            rel = path.relative_to(top.parent).with_suffix("").parts
            files[".".join(rel[:-1] if rel[-1] == "__init__" else rel)] = path
    graph = {m: _imports(p, m, set(files)) for m, p in files.items()}
    cycles = [c for c in _strongly_connected(graph) if len(c) > 1]
    assert cycles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the strongly connected components of a directed graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out
