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


def storage_url_of(study: optuna.Study) -> str | None:
    """The URL of a study's RDB storage (seen through Optuna's cache), or None for others.

    The worker reaches ``_backend`` the same way; ``RDBStorage.url`` is public.
    """
    storage = getattr(study._storage, "_backend", study._storage)
    url = getattr(storage, "url", None)
    return url if isinstance(url, str) else None


def artifact_store(directory: str | Path) -> FileSystemArtifactStore:
    """The store on ``directory`` (created if missing)."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(path)


def study_artifact_dir(study: optuna.Study, directory: str | Path | None) -> Path:
    """``directory``, or the default beside the study's storage.

    Raises:
        ValueError: No directory was given and the storage has no URL (e.g. in memory).
    """
    if directory is not None:
        return Path(directory)
    url = storage_url_of(study)
    if url is None:
        raise ValueError(
            "The study's storage has no URL to put its artifacts beside. Give an artifact "
            "directory (`--artifact-dir DIR`, or `artifact_dir=` in Python)."
        )
    return default_artifact_dir(url)
