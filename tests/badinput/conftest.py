"""Fixtures for the bad-input catalogue: the throwaway PostgreSQL server of tests/pg.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pg import pg_server, postgres_url  # noqa: E402

__all__ = ["pg_server", "postgres_url"]
