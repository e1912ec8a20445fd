"""The ``optuna-glo`` command line."""

from optuna_glo.cli._main import build_parser, main

__all__ = ["build_parser", "main"]
