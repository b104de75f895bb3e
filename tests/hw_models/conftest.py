"""hw_models test options: ``pytest --update-golden`` rewrites tests/hw_models/golden/*.json.

Golden figures change only on purpose: run with the flag, then review ``git diff`` of the golden
files before committing them.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/hw_models/golden/*.json from the current model")


@pytest.fixture
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))
