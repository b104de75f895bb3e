"""Every module of codesign and hw_models imports on its own, in a fresh interpreter.

An import cycle hides while callers happen to import modules in a lucky order; importing each module
first and alone is what a user's ``python -c "import codesign.search_space"`` does.
"""

from __future__ import annotations

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
