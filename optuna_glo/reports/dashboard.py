"""What optuna-dashboard shows of a loss search: a loss-shape PNG on every trial, a study note.

Each finished trial gets a small PNG of its loss in the binary view (GLO section V-A) as an
Optuna artifact with mimetype ``image/png``, which optuna-dashboard shows on the trial's page
(start it with ``optuna-dashboard URL --artifact-dir DIR``). The study gets a dashboard note with
the best loss's formula and, once ``optuna-glo evaluate`` has run, its table.

A finished trial no longer accepts artifacts (Optuna stores an artifact's record in the trial's
system attrs), so the picture is attached just before the worker tells the trial's result.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from optuna_glo.keys import BASELINE_ATTR, EVALUATION_ATTR, FORMULA_ATTR
from optuna_glo.runtime.artifacts import DEFAULT_ARTIFACT_DIR as DEFAULT_ARTIFACT_DIR
from optuna_glo.runtime.artifacts import default_artifact_dir as default_artifact_dir
from optuna_glo.suggest._load import load_loss

if TYPE_CHECKING:
    from optuna.artifacts import FileSystemArtifactStore

_logger = logging.getLogger(__name__)

#: Study user attrs written by ``optuna-glo evaluate`` start with this.
#: Study user attr of the cross-entropy baseline (``study.BASELINE_ATTR``).

_MATH = (
    ("sum_i", "Σᵢ"), ("x_i", "xᵢ"), ("y_i", "yᵢ"), ("^2", "²"), ("^3", "³"), ("^4", "⁴"),
    ("^5", "⁵"), ("*", "·"), ("sqrt", "√"),
)


def evaluation_attr(data_portion: float) -> str:
    """The study user attr holding an evaluation at ``data_portion`` of the training data."""
    return EVALUATION_ATTR if data_portion == 1.0 else f"{EVALUATION_ATTR}:portion={data_portion:g}"


def readable_math(formula: str) -> str:
    """A formula with Unicode math signs (``Σᵢ``, ``yᵢ``, ``²``, ``·``) for the dashboard."""
    for plain, pretty in _MATH:
        formula = formula.replace(plain, pretty)
    return formula


def study_note(study: optuna.Study) -> str:
    """The study's dashboard note: the best loss as readable math and any evaluation tables."""
    lines = [f"## optuna-glo: {study.study_name}", ""]
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if complete:
        best = study.best_trial
        formula = best.user_attrs.get(FORMULA_ATTR)
        if not isinstance(formula, str):
            try:
                formula = load_loss(best).formula()
            except ValueError:
                formula = "(no loss recorded)"
        lines += [
            f"**Best loss**: trial {best.number}, validation accuracy {best.value:.4f} "
            f"(partial training; {len(complete)} trials complete).",
            "",
            "```",
            readable_math(formula),
            "```",
            "",
            "x: the one-hot true label, y: the softmax prediction, n: the number of classes. "
            "The loss's shape is on each trial's page (artifacts).",
        ]
        baseline = study.user_attrs.get(BASELINE_ATTR)
        if isinstance(baseline, dict) and "value" in baseline:
            lines += [
                "",
                f"Cross-entropy trained the same way (lr {baseline.get('lr', math.nan):g}): "
                f"{baseline['value']:.4f}.",
            ]
    else:
        lines.append("No completed trial yet.")
    for key, report in sorted(study.user_attrs.items()):
        if key.startswith(EVALUATION_ATTR) and isinstance(report, dict) and "markdown" in report:
            lines += ["", report["markdown"]]
    return "\n".join(lines) + "\n"


def update_study_note(study: optuna.Study) -> None:
    """Write :func:`study_note` as the study's optuna-dashboard note (replacing the old one)."""
    from optuna_dashboard import save_note

    save_note(study, study_note(study))


class LossShapeArtifacts:
    """Worker hooks: a loss-shape PNG artifact per trial and the study note.

    Use :meth:`before_tell` while the trial is running (artifacts need a running trial) and
    :meth:`after_tell` as an ordinary ``(study, frozen_trial)`` callback. Neither ever fails the
    worker: a problem is logged and the trial goes on.

    Args:
        artifact_dir: The :class:`~optuna.artifacts.FileSystemArtifactStore` directory (made
            when the first picture is stored).
        note: Also keep the study's dashboard note up to date with the best loss.
        announce: Called once with a line saying where the first picture went.

    Attributes:
        seconds: Time spent in the hooks so far (for measuring their overhead).
    """

    def __init__(
        self,
        artifact_dir: str | Path,
        *,
        note: bool = True,
        announce: Callable[[str], object] | None = None,
    ) -> None:
        self.artifact_dir = Path(artifact_dir)
        self.note = note
        self.announce = announce
        self.seconds = 0.0
        self._store: FileSystemArtifactStore | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="optuna-glo-shapes-")

    @property
    def store(self) -> FileSystemArtifactStore:
        """The artifact store (its directory is created on first use)."""
        if self._store is None:
            from optuna.artifacts import FileSystemArtifactStore

            self.artifact_dir.mkdir(parents=True, exist_ok=True)
            self._store = FileSystemArtifactStore(self.artifact_dir)
        return self._store

    def before_tell(self, study: optuna.Study, trial: optuna.Trial) -> str | None:
        """Render the trial's loss shape and upload it; returns the artifact id (or ``None``)."""
        from optuna.artifacts import upload_artifact

        from optuna_glo.reports.shapes import loss_shape_png

        start = time.perf_counter()
        try:
            try:
                loss = load_loss(trial)
            except ValueError:
                return None  # a trial without a loss (e.g. a user's own parameters)
            path = Path(self._tmp.name) / f"trial-{trial.number}-loss-shape.png"
            loss_shape_png(loss, path, title=f"trial {trial.number}: loss at x0 = 1")
            first = self._store is None
            artifact_id = upload_artifact(
                artifact_store=self.store, file_path=str(path), study_or_trial=trial,
                mimetype="image/png",
            )
            path.unlink()
            if first and self.announce is not None:
                self.announce(
                    f"Loss-shape pictures of the trials go to {self.artifact_dir}/. See them with: "
                    f"optuna-dashboard STORAGE_URL --artifact-dir {self.artifact_dir}"
                )
            return artifact_id
        except Exception as err:  # never lose a trained trial to a picture
            _logger.warning("No loss-shape artifact for trial %d: %s", trial.number, err)
            return None
        finally:
            self.seconds += time.perf_counter() - start

    def after_tell(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Refresh the study note when ``trial`` is the study's new best."""
        if not self.note or trial.state != TrialState.COMPLETE:
            return
        start = time.perf_counter()
        try:
            if study.best_trial.number == trial.number:
                update_study_note(study)
        except Exception as err:
            _logger.warning("Study note not updated after trial %d: %s", trial.number, err)
        finally:
            self.seconds += time.perf_counter() - start

    __call__ = after_tell

    def close(self) -> None:
        """Remove the temporary PNG directory."""
        self._tmp.cleanup()


def list_trial_artifacts(study: optuna.Study, trial: FrozenTrial) -> list[dict[str, Any]]:
    """The artifact records of a trial (id, filename, mimetype)."""
    from optuna.artifacts import get_all_artifact_meta

    return [
        {"artifact_id": m.artifact_id, "filename": m.filename, "mimetype": m.mimetype}
        for m in get_all_artifact_meta(trial, storage=study._storage)
    ]
