"""``gc-checkpoints``: delete the checkpoints of an EPBT or PBT study that no trial can inherit."""

from __future__ import annotations

import argparse
from typing import Any

from optuna_glo.cli._arguments import add_study_arguments


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "gc-checkpoints", help="delete an EPBT/PBT study's checkpoints that are no longer needed",
        description="Delete the checkpoints of the trials of an EPBT or PBT study that can no "
        "longer be a parent, keeping the population's. Workers do this as each generation "
        "closes; this command does it for old studies and after the last generation.",
    )
    add_study_arguments(p)
    p.add_argument(
        "--artifact-dir", default=None, metavar="DIR",
        help="the study's artifact directory (default: beside a SQLite file, study.db -> "
        "study-artifacts/; else ./optuna-glo-artifacts)",
    )
    p.set_defaults(handler=gc_checkpoints_command)


def gc_checkpoints_command(args: argparse.Namespace) -> int:
    from optuna_glo.runtime.population import gc_checkpoints
    from optuna_glo.runtime.study import load_study

    study, _ = load_study(args.study, args.storage)
    from optuna_glo.runtime.artifacts import default_artifact_dir

    removed = gc_checkpoints(study, args.artifact_dir or default_artifact_dir(args.storage))
    print(f"Deleted the checkpoints of {len(removed)} trial(s) that can no longer be a parent.")
    return 0
