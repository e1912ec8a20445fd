"""Fixtures of the worker tests: a fresh PostgreSQL database and a study in it."""

from __future__ import annotations

from worker_helpers import db_url, make_study

__all__ = ["db_url", "make_study"]
