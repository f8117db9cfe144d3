"""Fixtures shared by the integration tests (Redis and MQTT ones are in tests/conftest.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from realtime.history import History

PG_URL = os.environ.get("FLOORBOARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_history() -> Iterator[History]:
    """A History on PostgreSQL, in a schema of its own dropped afterwards (skipped when no
    server answers)."""
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect():
            pass
    except (sa.exc.OperationalError, sa.exc.NoSuchModuleError, ImportError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}")
    schema = f"fbtest_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield History(f"{PG_URL}?options=-csearch_path%3D{schema}")
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
