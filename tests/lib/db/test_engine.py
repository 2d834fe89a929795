"""Connecting retries with backoff (Neon wakes from scale-to-zero), then gives up loudly."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from lib.config import Secret, settings
from lib.db.engine import CONNECT_ATTEMPTS, create_app_engine


def test_an_unreachable_database_is_retried_then_reported(database: Any, caplog: pytest.LogCaptureFixture) -> None:
    unreachable = replace(
        settings(), database_url=Secret("postgresql+psycopg://zentro_api@/zentro?host=/nonexistent-socket-dir")
    )
    engine = create_app_engine(unreachable)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="zentro.db"), pytest.raises(OperationalError):
        engine.connect()
    assert [r.msg for r in caplog.records].count("db_connect_retry") == CONNECT_ATTEMPTS - 1
    assert time.monotonic() - started >= 0.5  # it backed off between attempts
    engine.dispose()


def test_a_reachable_database_connects_without_retrying(database: Any, caplog: pytest.LogCaptureFixture) -> None:
    engine = create_app_engine(settings())
    with caplog.at_level(logging.WARNING, logger="zentro.db"), engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    assert "db_connect_retry" not in [r.msg for r in caplog.records]
    engine.dispose()
