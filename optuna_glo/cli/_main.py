"""``optuna-glo``: the command line.

Each command lives in a module of this package with an ``add_parser(subparsers)`` function that
registers it and sets its handler; :data:`COMMANDS` lists them in help order. User errors (bad
specs, unknown tasks or studies, unreachable storages, missing data) print one line and exit 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from optuna_glo.cli import _evaluate_commands, _launch_command, _study_commands, _tasks_command
from optuna_glo.cli._arguments import resolve_storage
from optuna_glo.cli._safe_text import printable

#: Command modules, in the order ``optuna-glo --help`` lists them.
COMMANDS: list[ModuleType] = [
    _study_commands, _launch_command, _tasks_command, _evaluate_commands
]

#: Exit status of a command stopped by a user error.
EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optuna-glo",
        description="Search for better neural-network training losses as Optuna studies "
        "(GLO, TaylorGLO).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show Optuna's logs")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(subparsers)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    from optuna_glo.objectives import DataUnavailableError
    from optuna_glo.runtime.spec import SpecError
    from optuna_glo.runtime.storage import StorageError
    from optuna_glo.runtime.study import StudyError

    return (SpecError, StorageError, StudyError, DataUnavailableError, ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``optuna-glo`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    import optuna

    optuna.logging.set_verbosity(logging.INFO if args.verbose else logging.WARNING)
    try:
        if hasattr(args, "storage"):
            args.storage, args.storage_source = resolve_storage(
                args.storage, creates=args.storage_creates
            )
        return int(args.handler(args) or 0)
    except _user_errors() as err:
        # Messages quote stored names and values: one line, no terminal control codes.
        print(f"optuna-glo {args.command}: error: {printable(err, limit=2000)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"optuna-glo {args.command}: interrupted", file=sys.stderr)
        return 130
