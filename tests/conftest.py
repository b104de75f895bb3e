"""Shared fixtures: a temporary results root and a minimal valid study mapping."""

from __future__ import annotations

import copy

import pytest

MINIMAL_STUDY = {
    "name": "t",
    "search_space": {"rank": {"choices": [1, 2]}},
    "objectives": [{"name": "latency_us"}],
}


@pytest.fixture
def minimal_study():
    return copy.deepcopy(MINIMAL_STUDY)
