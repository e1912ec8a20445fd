"""``optuna-glo``: the command line.

Each command lives in a module of this package with an ``add_parser(subparsers)`` function that
registers it and sets its handler; :data:`COMMANDS` lists them in help order. User errors (bad
specs, unknown tasks or studies, unreachable storages, missing data) print one line and exit 2,
never a traceback.

Building the parser imports no torch (nor matplotlib, scipy): commands import what they need when
they run, so ``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from optuna_glo import __version__
from optuna_glo.cli import (
    _checkpoint_command,
    _evaluate_commands,
    _launch_command,
    _proxy_command,
    _study_commands,
    _tasks_command,
)
from optuna_glo.cli._arguments import resolve_storage
from optuna_glo.cli._safe_text import printable

#: Command modules, in the order ``optuna-glo --help`` lists them.
COMMANDS: list[ModuleType] = [
    _study_commands, _launch_command, _tasks_command, _evaluate_commands, _checkpoint_command,
    _proxy_command,
]

#: Exit status of a command stopped by a user error.
EXIT_USER_ERROR = 2


def _add_global_options(p: argparse.ArgumentParser, *, default: object) -> None:
    """Options every command takes, before or after its name (``-v run`` or ``run -v``)."""
    g = p.add_argument_group("global options")
    g.add_argument(
        "-v", "--verbose", action="store_true", default=default,
        help="show Optuna's logs (before or after COMMAND)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optuna-glo",
        description="Search for better neural-network training losses as Optuna studies "
        "(GLO, TaylorGLO, EPBT).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, default=False)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(subparsers)
    for command in subparsers.choices.values():
        # SUPPRESS: a flag left out after the command keeps the value given before it.
        _add_global_options(command, default=argparse.SUPPRESS)
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
            from optuna_glo.runtime.storage import resolve_storage as resolve_storage_kind

            url, args.storage_source = resolve_storage(args.storage, creates=args.storage_creates)
            args.storage = resolve_storage_kind(url, getattr(args, "storage_class", None))
        return int(args.handler(args) or 0)
    except _user_errors() as err:
        # Messages quote stored names and values: one line, no terminal control codes.
        print(f"optuna-glo {args.command}: error: {printable(err, limit=2000)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"optuna-glo {args.command}: interrupted", file=sys.stderr)
        return 130
