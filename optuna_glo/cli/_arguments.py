"""Arguments several commands share: storage, study, training options, worker artifacts."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from optuna_glo.runtime.storage import DEFAULT_STORAGE, redact

#: The environment variable that names the storage when ``--storage`` is not given, as for
#: Optuna's own CLI. ``launch`` hands the storage to its workers through it (never their argv).
STORAGE_ENV = "OPTUNA_STORAGE"


def add_storage_argument(p: argparse.ArgumentParser, *, creates: bool = False) -> None:
    """``--storage``; :func:`resolve_storage` fills it in after parsing.

    Args:
        p: The command's parser.
        creates: Whether the command creates its study (then the default SQLite file may be
            new; other commands refuse a default file that does not exist).
    """
    p.add_argument(
        "--storage", default=None, metavar="URL",
        help="Optuna storage URL: sqlite:///FILE.db or postgresql://USER@HOST:5432/DB (default: "
        f"${STORAGE_ENV}, else {DEFAULT_STORAGE}; {_storage_now()}). Keep passwords off "
        f"command lines: PGPASSWORD or ~/.pgpass, or the whole URL in ${STORAGE_ENV}. Also a "
        "journal file (FILE.log), redis://HOST:6379/N or grpc://HOST:PORT",
    )
    p.add_argument(
        "--storage-class", default=None, metavar="CLASS",
        help="storage class hint, as in the optuna CLI: RDBStorage, JournalFileBackend, "
        "JournalRedisBackend or GrpcStorageProxy (default: guessed from --storage: a path "
        "*.log/*.journal is a journal file, redis://... Redis, grpc://HOST:PORT a storage proxy)",
    )
    p.set_defaults(storage_creates=creates)


def _storage_now() -> str:
    """Which storage a command run now would use, for ``--help``."""
    url = os.environ.get(STORAGE_ENV)
    if url is None:
        return f"now: {DEFAULT_STORAGE}, as ${STORAGE_ENV} is not set"
    return f"now: {redact(url)} from ${STORAGE_ENV}"


def resolve_storage(
    given: str | None, *, creates: bool = False, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """The storage URL a command uses: ``--storage``, else ``$OPTUNA_STORAGE``, else the default.

    This is the one place that decides where a command's study lives.

    Args:
        given: The ``--storage`` value, ``None`` when the flag was not given.
        creates: Whether the command creates its study; a command that only reads one refuses
            the default SQLite file when it does not exist (opening it would create it empty).
        environ: The environment (default: ``os.environ``).

    Returns:
        The URL and where it came from: ``"--storage"``, ``"$OPTUNA_STORAGE"`` or
        ``"the default"``.

    Raises:
        ValueError: The URL is empty, or the default file is missing for a command that reads.
    """
    env = os.environ if environ is None else environ
    if given is not None:
        url, source = given, "--storage"
    elif STORAGE_ENV in env:
        url, source = env[STORAGE_ENV], f"${STORAGE_ENV}"
    else:
        url, source = DEFAULT_STORAGE, "the default"
    if not url.strip():
        raise ValueError(
            f"The storage URL from {source} is empty. Give one such as {DEFAULT_STORAGE} or "
            "postgresql://USER@HOST:5432/DB."
        )
    default_file = Path(DEFAULT_STORAGE.removeprefix("sqlite:///"))
    if source == "the default" and not creates and not default_file.exists():
        raise ValueError(
            f"No --storage given, ${STORAGE_ENV} is not set, and the default storage "
            f"{DEFAULT_STORAGE} does not exist in {Path.cwd()}. Pass --storage URL or set "
            f"${STORAGE_ENV} to the study's storage."
        )
    return url, source


def storage_flag(args: argparse.Namespace) -> str:
    """`` --storage URL`` for a follow-up command line that we print; empty when the storage came
    from the environment or the default (the follow-up finds it the same way). The URL is
    redacted: a password is never printed."""
    if getattr(args, "storage_source", "--storage") != "--storage":
        return ""
    return f" --storage {redact(args.storage)}"


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
        "study's dashboard note (EPBT/PBT checkpoints are written all the same)",
    )
    add_artifact_dir_argument(p)


def add_artifact_dir_argument(p: argparse.ArgumentParser) -> None:
    """``--artifact-dir``: where a study's artifacts (pictures, evaluation results) are."""
    p.add_argument(
        "--artifact-dir", default=None, metavar="DIR",
        help="where the study's artifacts and EPBT/PBT checkpoints are stored (default: beside a "
        "SQLite file, study.db -> "
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
