"""Fixtures of the worker tests: a fresh PostgreSQL database (or SQLite file) and a study."""

from __future__ import annotations

from worker_helpers import db_url, make_study, sqlite_file_url

__all__ = ["db_url", "make_study", "sqlite_file_url"]
