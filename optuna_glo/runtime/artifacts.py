"""Where a study's artifacts live: an Optuna ``FileSystemArtifactStore`` on a directory.

The loss-shape pictures (``optuna_glo.reports.dashboard``) and the population checkpoints
(:mod:`optuna_glo.runtime.checkpoints`) share one directory: beside a SQLite file by default, a
shared directory given with ``--artifact-dir`` when workers run on several machines.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.artifacts import FileSystemArtifactStore
from sqlalchemy.engine import make_url

#: Artifact directory for storages that are not a SQLite file (relative to the working directory).
DEFAULT_ARTIFACT_DIR = "optuna-glo-artifacts"


def default_artifact_dir(storage_url: str) -> Path:
    """Where a storage's artifacts go by default: beside a SQLite file (``study.db`` ->
    ``study-artifacts/``), else ``./optuna-glo-artifacts``."""
    try:
        url = make_url(storage_url)
    except Exception:
        return Path(DEFAULT_ARTIFACT_DIR)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        db = Path(str(url.database))
        return db.with_name(db.stem + "-artifacts")
    return Path(DEFAULT_ARTIFACT_DIR)


def artifact_store(directory: str | Path) -> FileSystemArtifactStore:
    """The store on ``directory`` (created if missing)."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(path)


def study_artifact_dir(study: optuna.Study, directory: str | Path | None) -> Path:
    """``directory``; the worker and the CLI pass the default beside the storage's URL.

    Raises:
        ValueError: No directory was given (a study opened in Python: its storage's URL is not
            public in Optuna's storage API).
    """
    if directory is not None:
        return Path(directory)
    raise ValueError(
        f"Study {study.study_name!r} needs an artifact directory for its checkpoints. Give one "
        "(`--artifact-dir DIR`, or `artifact_dir=` in Python)."
    )
