"""Fixtures of the worker tests: a study (fresh databases come from tests/conftest.py)."""

from __future__ import annotations

from worker_helpers import make_study

__all__ = ["make_study"]
