"""Arguments several commands share: storage, study, training options, worker artifacts."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_storage_argument(p: argparse.ArgumentParser, default: str | None = None) -> None:
    p.add_argument(
        "--storage", default=default, required=default is None, metavar="URL",
        help="Optuna storage URL: sqlite:///FILE.db or postgresql://USER:PASSWORD@HOST/DB"
        + (f" (default: {default})" if default else ""),
    )


def add_study_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", required=True, metavar="NAME", help="study name")
    add_storage_argument(p)


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device", default="auto",
        help="training device: cpu, cuda, cuda:K or auto (CUDA if present; default)",
    )
    p.add_argument(
        "--data-dir", default=None,
        help="where data sets are read (default: $OPTUNA_GLO_DATA_DIR or ~/.cache/optuna-glo)",
    )
    p.add_argument(
        "--download", action="store_true",
        help="allow downloading a missing data set (needs internet access)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def check_device(args: argparse.Namespace) -> None:
    """Refuse a ``--device`` this machine cannot train on before any work is claimed."""
    from optuna_glo.objectives import resolve_device

    resolve_device(args.device)


def add_artifact_arguments(p: argparse.ArgumentParser) -> None:
    """``--no-artifacts`` and ``--artifact-dir`` for commands that run workers."""
    p.add_argument(
        "--no-artifacts", action="store_true",
        help="do not attach a loss-shape PNG and a dashboard note to each trial nor keep the "
        "study's dashboard note",
    )
    add_artifact_dir_argument(p)


def add_artifact_dir_argument(p: argparse.ArgumentParser) -> None:
    """``--artifact-dir``: where a study's artifacts (pictures, evaluation results) are."""
    p.add_argument(
        "--artifact-dir", default=None, metavar="DIR",
        help="where the study's artifacts are stored (default: beside a SQLite file, study.db -> "
        "study-artifacts/; else ./optuna-glo-artifacts). Workers on many machines need a shared "
        "directory. Show them with: optuna-dashboard URL --artifact-dir DIR",
    )


def artifact_dir(args: argparse.Namespace) -> str:
    """The ``--artifact-dir`` given, or the storage's default."""
    from optuna_glo.reports.artifacts import default_artifact_dir

    return str(args.artifact_dir or default_artifact_dir(args.storage))


def artifact_hooks(args: argparse.Namespace) -> dict[str, Any]:
    """``run_worker`` keyword arguments that attach loss-shape PNGs and keep the study note."""
    if getattr(args, "no_artifacts", True):
        return {}
    from tqdm.auto import tqdm

    from optuna_glo.reports.dashboard import LossShapeArtifacts

    directory = artifact_dir(args)

    def announce(line: str) -> None:
        tqdm.write(f"{line} (off: --no-artifacts)", file=sys.stderr)

    hooks = LossShapeArtifacts(directory, announce=announce)
    return {"before_tell": [hooks.before_tell], "callbacks": [hooks.after_tell]}
