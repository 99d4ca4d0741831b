"""Scale-out tests use the suite's journal fixtures (tests/conftest.py): real SQLite files, a real
PostgreSQL, and real worker processes started by scale_support."""
