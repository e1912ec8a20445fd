"""What optuna-dashboard shows of a loss search: a note per trial, a study note, loss pictures.

Each trial the workers finish gets a PNG of its loss in the binary view (GLO section V-A) as an
Optuna artifact (``image/png``) and a dashboard note (``optuna_dashboard.save_note``) with its
formula as readable math (:func:`~optuna_glo.losses.readable_formula`), that picture, and how the
search made it (generation, origin; methods add lines through :data:`NOTE_DETAILS`). The study's
note leads with the best loss's formula and picture, then any ``optuna-glo evaluate`` tables
(an EPBT or PBT study's schedule evaluation among them).
Start the dashboard with ``optuna-dashboard URL --artifact-dir DIR`` to see the pictures.

A finished trial no longer accepts artifacts (Optuna stores an artifact's record in the trial's
system attrs), so the picture and the note are made just before the worker tells the result.
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

from optuna_glo.keys import (
    BASELINE_ATTR,
    CACHED_FROM_ATTR,
    ORIGIN_ATTR,
    SCHEDULE_EVALUATION_ATTR,
    TREE_ATTR,
    UNTRAINABLE_ATTR,
)
from optuna_glo.losses import readable_formula
from optuna_glo.reports.artifacts import artifact_store, load_evaluations
from optuna_glo.reports.artifacts import default_artifact_dir as default_artifact_dir
from optuna_glo.reports.artifacts import evaluation_attr as evaluation_attr
from optuna_glo.reports.generations import is_coefficient_trial, trial_generation
from optuna_glo.suggest import load_loss

if TYPE_CHECKING:
    from optuna.artifacts import FileSystemArtifactStore

_logger = logging.getLogger(__name__)

#: Adds ``(label, text)`` lines to a trial's note; EPBT adds an individual's parent here.
NoteDetail = Callable[[FrozenTrial], list[tuple[str, str]]]

#: Longest evaluation table the study note shows, in characters (a summary attr is read from
#: storage: untrusted).
MAX_NOTE_TABLE = 100_000

#: The file name of a trial's loss picture ends with this.
SHAPE_SUFFIX = "-loss-shape.png"


def _search_details(trial: FrozenTrial) -> list[tuple[str, str]]:
    """Where a GLO or TaylorGLO trial came from: its generation or origin, its tree, its cache."""
    details = []
    origin = trial.user_attrs.get(ORIGIN_ATTR)
    generation = trial_generation(trial, None)
    if isinstance(origin, str):
        details.append(("made by", origin))  # the GP sampler's "generation 3: crossover"
    elif generation is not None:
        coefficients = is_coefficient_trial(trial)
        phase = " of the coefficient phase (CMA-ES, GLO III-B)" if coefficients else ""
        details.append(("generation", f"{generation}{phase}"))
    tree = trial.user_attrs.get(TREE_ATTR)
    if isinstance(tree, str):
        details.append(("tree", f"`{tree}`"))
    cached = trial.user_attrs.get(CACHED_FROM_ATTR)
    if cached is not None:
        details.append(("not trained", f"the fitness cache gave it trial {cached}'s value"))
    reason = trial.user_attrs.get(UNTRAINABLE_ATTR)
    if isinstance(reason, str):
        details.append(("not trained", f"{reason} (fitness 0, GLO III-A)"))
    return details


#: Detail lines of every trial note, in order. Extend for new methods.
NOTE_DETAILS: list[NoteDetail] = [_search_details]


def best_formula(trial: FrozenTrial) -> str:
    """A trial's readable formula and what its names mean (two lines)."""
    try:
        return readable_formula(load_loss(trial), legend=True)
    except ValueError as err:  # never show stored text in place of the parsed loss
        return f"(its loss cannot be read: {err})"


def picture_url(study_id: int, trial: FrozenTrial, artifact_id: str) -> str:
    """optuna-dashboard's address of a trial artifact (what its note editor inserts)."""
    return f"/artifacts/{study_id}/{trial._trial_id}/{artifact_id}"


def _formula_lines(trial: FrozenTrial) -> list[str]:
    formula, *legend = best_formula(trial).splitlines()
    # Bold in the page's font (a code font spaces out the subscripts); code if it has Markdown's
    # signs (an exact formula from formula()).
    shown = f"`{formula}`" if any(c in formula for c in "*_`") else f"**{formula}**"
    return [shown, "", *[f"*{line}*" for line in legend]]


def trial_note(study_id: int, trial: FrozenTrial, artifact_id: str | None = None) -> str:
    """A trial's dashboard note: its formula, its loss picture and :data:`NOTE_DETAILS`."""
    lines = [f"### Trial {trial.number}: the loss", "", *_formula_lines(trial)]
    if artifact_id is not None:
        url = picture_url(study_id, trial, artifact_id)
        lines += ["", f"![trial {trial.number}: the loss at x0 = 1 (GLO Fig. 6)]({url})"]
    details = [item for detail in NOTE_DETAILS for item in detail(trial)]
    if details:
        lines += ["", *[f"- {label}: {text}" for label, text in details]]
    return "\n".join(lines) + "\n"


def _shape_artifact(study: optuna.Study, trial: FrozenTrial) -> str | None:
    from optuna.artifacts import get_all_artifact_meta

    metas = get_all_artifact_meta(trial, storage=study._storage)
    return next((m.artifact_id for m in metas if m.filename.endswith(SHAPE_SUFFIX)), None)


def study_note(study: optuna.Study, artifact_dir: str | Path | None = None) -> str:
    """The study's dashboard note: the best loss (formula, picture), then the evaluation tables
    of ``optuna-glo evaluate``: loss tables and, for an EPBT or PBT study, the schedule's. A table
    too large for its summary attr is read from its Markdown artifact in ``artifact_dir``."""
    lines = [f"## optuna-glo: {study.study_name}", ""]
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if complete:
        best = study.best_trial
        lines += [
            f"**Best loss**: trial {best.number}, validation accuracy {best.value:.4f} "
            f"(partial training; {len(complete)} trials complete).",
            "",
            *_formula_lines(best),
        ]
        artifact_id = _shape_artifact(study, best)
        if artifact_id is not None:
            url = picture_url(study._study_id, best, artifact_id)
            lines += ["", f"![the best loss at x0 = 1 (GLO Fig. 6)]({url})"]
        baseline = study.user_attrs.get(BASELINE_ATTR)
        if isinstance(baseline, dict) and "value" in baseline:
            lines += [
                "",
                f"Cross-entropy trained the same way (lr {baseline.get('lr', math.nan):g}): "
                f"{baseline['value']:.4f}.",
            ]
        lines += ["", "Each trial's note shows its loss and the loss's shape."]
    else:
        lines.append("No completed trial yet.")
    reports = list(load_evaluations(study, None).values())
    schedule = study.user_attrs.get(SCHEDULE_EVALUATION_ATTR)
    if isinstance(schedule, dict):  # an EPBT or PBT study's schedule evaluation
        reports.append(schedule)
    for report in reports:
        lines += _report_lines(report, artifact_dir)
    return "\n".join(lines) + "\n"


def _report_lines(report: dict[str, Any], artifact_dir: str | Path | None) -> list[str]:
    """An evaluation's table (from its summary, else its Markdown artifact) and its artifacts."""
    artifacts = report.get("artifacts")
    artifacts = artifacts if isinstance(artifacts, dict) else {}
    markdown = report.get("markdown")
    if not isinstance(markdown, str) and artifact_dir is not None:
        markdown = _markdown_artifact(artifacts, artifact_dir)
    lines = []
    if isinstance(markdown, str) and len(markdown) <= MAX_NOTE_TABLE:
        lines += ["", markdown]
    names = ", ".join(n for n in artifacts if isinstance(n, str))
    if names:
        lines += ["", f"Every run and training curve: study artifacts {names}."]
    return lines


def _markdown_artifact(artifacts: dict[Any, Any], artifact_dir: str | Path) -> str | None:
    """The text of the first ``.md`` artifact named in ``artifacts``, if it is readable here."""
    name = next((n for n in artifacts if isinstance(n, str) and n.endswith(".md")), None)
    if name is None or not isinstance(artifacts[name], str) or not Path(artifact_dir).is_dir():
        return None
    try:
        with artifact_store(artifact_dir).open_reader(artifacts[name]) as reader:
            return str(reader.read(MAX_NOTE_TABLE + 1).decode("utf-8", errors="replace"))
    except Exception as err:  # another machine's directory, a removed file
        _logger.warning("The study note leaves out %s: it is not readable here (%s).", name, err)
        return None


def update_study_note(study: optuna.Study, artifact_dir: str | Path | None = None) -> None:
    """Write :func:`study_note` as the study's optuna-dashboard note (replacing the old one)."""
    from optuna_dashboard import save_note

    save_note(study, study_note(study, artifact_dir))


class LossShapeArtifacts:
    """Worker hooks: a loss picture and a note per trial, and the study note.

    Use :meth:`before_tell` while the trial is running (artifacts need a running trial) and
    :meth:`after_tell` as an ordinary ``(study, frozen_trial)`` callback. Neither ever fails the
    worker: a problem is logged and the trial goes on.

    Args:
        artifact_dir: The :class:`~optuna.artifacts.FileSystemArtifactStore` directory (made
            when the first picture is stored).
        note: Also write each trial's dashboard note and keep the study's up to date.
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
            self._store = artifact_store(self.artifact_dir)
        return self._store

    def before_tell(self, study: optuna.Study, trial: optuna.Trial) -> str | None:
        """Upload the trial's loss picture and write its note; returns the picture's id."""
        start = time.perf_counter()
        try:
            frozen = study._storage.get_trial(trial._trial_id)  # with the sampler's attrs
            try:
                loss = load_loss(frozen)
            except ValueError:
                return None  # a trial without a loss (e.g. a user's own parameters)
            artifact_id = self._picture(trial, loss)
            if self.note:
                from optuna_dashboard import save_note

                save_note(trial, trial_note(study._study_id, frozen, artifact_id))
            return artifact_id
        except Exception as err:  # never lose a trained trial to a picture
            _logger.warning("No dashboard note for trial %d: %s", trial.number, err)
            return None
        finally:
            self.seconds += time.perf_counter() - start

    def _picture(self, trial: optuna.Trial, loss: Any) -> str | None:
        from optuna.artifacts import upload_artifact

        from optuna_glo.reports.shapes import loss_shape_png

        try:
            path = Path(self._tmp.name) / f"trial-{trial.number}{SHAPE_SUFFIX}"
            loss_shape_png(loss, path, title=f"trial {trial.number}: the loss at x0 = 1")
            first = self._store is None
            artifact_id = upload_artifact(
                artifact_store=self.store, file_path=str(path), study_or_trial=trial,
                mimetype="image/png",
            )
            path.unlink()
        except Exception as err:
            _logger.warning("No loss-shape artifact for trial %d: %s", trial.number, err)
            return None
        if first and self.announce is not None:
            self.announce(
                f"Loss-shape pictures of the trials go to {self.artifact_dir}/. See them with: "
                f"optuna-dashboard STORAGE_URL --artifact-dir {self.artifact_dir}"
            )
        return artifact_id

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
