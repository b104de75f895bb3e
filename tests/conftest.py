"""Shared fixtures: a minimal valid study mapping, and a fresh PostgreSQL database (pg_url)."""

from __future__ import annotations

import copy
import os
import uuid

import pytest

MINIMAL_STUDY = {
    "name": "t",
    "search_space": {"rank": {"choices": [1, 2]}},
    "objectives": [{"name": "latency_us"}],
}


@pytest.fixture
def minimal_study():
    return copy.deepcopy(MINIMAL_STUDY)


@pytest.fixture
def pg_url():
    base = os.environ.get("CODESIGN_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("no PostgreSQL server (set CODESIGN_TEST_POSTGRES_URL; CI starts one)")
    import sqlalchemy

    name = f"codesign_test_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()
