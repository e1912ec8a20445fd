"""Large results as study artifacts, small summaries as study user attrs.

optuna-dashboard shows every study user attr on the study page and ``optuna studies`` prints them,
so an attr stays under :data:`ATTR_LIMIT` bytes of JSON. What is bigger, such as an evaluation's
every run and training curve, is uploaded as a study artifact (``optuna.artifacts.upload_artifact``
accepts a study: the artifact's record goes into the study's system attrs, and optuna-dashboard
lists it on the study page), and the summary attr names the artifacts it came with.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna_glo.keys import EVALUATION_ATTR
from optuna_glo.runtime.artifacts import DEFAULT_ARTIFACT_DIR as DEFAULT_ARTIFACT_DIR
from optuna_glo.runtime.artifacts import artifact_store as artifact_store
from optuna_glo.runtime.artifacts import default_artifact_dir as default_artifact_dir

if TYPE_CHECKING:
    import optuna
    from optuna.artifacts import FileSystemArtifactStore

_logger = logging.getLogger(__name__)

#: Largest study user attr optuna-glo writes, in bytes of JSON.
ATTR_LIMIT = 10_000

_MIMETYPES = {".json": "application/json", ".csv": "text/csv", ".md": "text/markdown",
              ".png": "image/png"}
#: What an evaluation summary keeps of each row: the statistics, not the runs and curves.
_ROW_SUMMARY = ("loss", "lr", "n", "mean", "std", "diverged", "p_vs_cross_entropy",
                "p_vs_cross_entropy_lr_tuned", "p_vs_cross_entropy_lr_tuned_with_budget")


def evaluation_attr(data_portion: float) -> str:
    """The study user attr holding an evaluation at ``data_portion`` of the training data."""
    return EVALUATION_ATTR if data_portion == 1.0 else f"{EVALUATION_ATTR}:portion={data_portion:g}"


def attr_size(value: Any) -> int:
    """Bytes of ``value`` as Optuna stores an attr (JSON)."""
    return len(json.dumps(value).encode())


def store_evaluation(
    study: optuna.Study,
    report: dict[str, Any],
    *,
    key: str,
    files: Sequence[Path],
    artifact_dir: str | Path,
) -> dict[str, Any]:
    """Upload an evaluation's ``files`` as study artifacts and set its summary as attr ``key``.

    The first file must be the whole ``report`` as JSON (what :func:`load_evaluations` reads
    back). A file whose bytes equal those of the artifact the previous summary named is not
    uploaded again, so a resumed evaluation that trained nothing adds nothing.

    Returns:
        The summary: the report without its runs and curves, plus ``{"artifacts": {name: id}}``.
    """
    from optuna.artifacts import upload_artifact

    store = artifact_store(artifact_dir)
    previous = study.user_attrs.get(key)
    known = previous.get("artifacts", {}) if isinstance(previous, dict) else {}
    artifacts: dict[str, str] = {}
    for path in files:
        artifact_id = known.get(path.name)
        if not (isinstance(artifact_id, str) and _same_bytes(store, artifact_id, path)):
            artifact_id = upload_artifact(
                artifact_store=store, file_path=str(path), study_or_trial=study,
                mimetype=_MIMETYPES.get(path.suffix, "application/octet-stream"),
            )
        artifacts[path.name] = artifact_id
    summary = _summary(report, artifacts)
    study.set_user_attr(key, summary)
    return summary


def _same_bytes(store: FileSystemArtifactStore, artifact_id: str, path: Path) -> bool:
    try:
        with store.open_reader(artifact_id) as reader:
            return bool(reader.read() == path.read_bytes())
    except Exception:  # gone from the store: upload again
        return False


def _summary(report: dict[str, Any], artifacts: dict[str, str]) -> dict[str, Any]:
    rows = [{k: row.get(k) for k in _ROW_SUMMARY} for row in report.get("rows", [])]
    summary = {**{k: v for k, v in report.items() if k != "rows"}, "rows": rows,
               "artifacts": artifacts}
    # A budget search's every rate, then for a table of very many losses the Markdown copy go
    # first (both are in the artifacts too).
    for dropped in ("lr_budget_search", "markdown", "summary", "rows"):
        if attr_size(summary) <= ATTR_LIMIT:
            break
        summary.pop(dropped, None)
    return summary


def load_evaluations(
    study: optuna.Study, artifact_dir: str | Path | None
) -> dict[str, dict[str, Any]]:
    """The study's evaluations by attr key, whole (runs and curves) where the artifact is readable.

    A summary whose JSON artifact cannot be read (no ``artifact_dir``, or another machine's
    directory) is returned as it is, without the runs and curves; a report stored whole in the
    attr (before artifacts were used) is returned whole.
    """
    out: dict[str, dict[str, Any]] = {}
    for key, value in sorted(study.user_attrs.items()):
        if not key.startswith(EVALUATION_ATTR) or not isinstance(value, dict):
            continue
        out[key] = value
        artifacts = value.get("artifacts")
        names = [
            n for n in (artifacts if isinstance(artifacts, dict) else ())
            if isinstance(n, str) and n.endswith(".json")
        ]
        if artifact_dir is None or not names or not Path(artifact_dir).is_dir():
            continue
        try:
            with artifact_store(artifact_dir).open_reader(value["artifacts"][names[0]]) as reader:
                out[key] = json.loads(reader.read())
        except Exception as err:
            _logger.warning("Evaluation %r: its artifact %s is not readable here (%s); using "
                            "the summary.", key, names[0], err)
    return out


def has_runs(report: dict[str, Any]) -> bool:
    """Whether ``report`` holds every run's accuracy (a whole report, not a summary)."""
    return all("test_accuracy" in row for row in report.get("rows", [])) and bool(
        report.get("rows")
    )
