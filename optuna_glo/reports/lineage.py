"""The numbers behind the EPBT and PBT pictures and the exported loss schedule.

Epochs are counted on the population's clock, the one the learning-rate schedule follows (EPBT
section 4.1: generation g trains epochs ``[g s, (g + 1) s)`` of the 200-epoch recipe, segments of
``s`` epochs): a trial of generation g ends at epoch ``(g + 1) s``. The segment length is read
from the trials (a trial trained from fresh weights records ``epochs_trained = s``), so a
``segment_steps`` study needs no task to be loaded.

* :func:`population_best`: the best individual of each generation's population, with its
  validation and test accuracy (the data of EPBT Fig. 2);
* :func:`lineage_points`: the same for the segments of one individual's lineage;
* :func:`lineage_shapes`: the binary view of each TaylorGLO loss of a lineage (EPBT Figs. 5-6);
* :func:`lineage_hyperparameters`: the values of each parameter along a lineage (PBT over SGD's
  learning rate and momentum, which has no loss to draw).

Stored attributes are untrusted: each is parsed and bounded, and a bad one is a one-line
``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from optuna_glo.keys import EPBT_GENERATION_KEY, PARENT_KEY
from optuna_glo.reports.schedule import Segment, best_individual, lineage_schedule, segment_of
from optuna_glo.reports.shapes import binary_curve
from optuna_glo.samplers.pbt import generation_of
from optuna_glo.suggest import read_taylor_loss

#: The study system attribute where :class:`~optuna_glo.samplers.pbt.EPBTSampler` keeps its
#: settings (``BaseGASampler`` subclasses: ``"{class name}:settings"``).
EPBT_SETTINGS_KEY = "EPBTSampler:settings"
#: The trial user attribute with the epochs an individual's weights have trained.
EPOCHS_ATTR = "epochs_trained"
#: Largest segment length read back, in epochs (the papers use 1 to 8).
_MAX_SEGMENT_EPOCHS = 1e6


@dataclass(frozen=True)
class Point:
    """One individual at the end of one generation.

    Attributes:
        generation: The generation.
        epoch: The population's epoch at the generation's end, ``(generation + 1) s``.
        trial: The individual's latest trial.
        val_accuracy: Its fitness.
        test_accuracy: Its recorded test accuracy (``None``: not recorded).
    """

    generation: int
    epoch: float
    trial: int
    val_accuracy: float
    test_accuracy: float | None


@dataclass(frozen=True)
class Shape:
    """A lineage segment's TaylorGLO loss in the binary view (GLO section V-A)."""

    generation: int
    trial: int
    y0: list[float]
    values: list[float]

    @property
    def shifted(self) -> list[float]:
        """``values`` shifted to 0 at the last ``y0`` (a constant changes no gradient), so that
        losses of different offsets share one axis, as in TaylorGLO Fig. 3a."""
        return [v - self.values[-1] for v in self.values]


def is_population_study(study: optuna.Study) -> bool:
    """Whether the study's trials were made by the EPBT or PBT sampler."""
    return any(
        generation_of(t) is not None
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    )


def segment_epochs(study: optuna.Study) -> float:
    """Epochs per segment, as the first completed trial trained from fresh weights recorded it.

    Raises:
        ValueError: No such trial records a finite ``epochs_trained`` in (0, 1e6].
    """
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.system_attrs.get(PARENT_KEY) is None and generation_of(t) is not None:
            value = segment_of(t).epochs
            if value is None or not 0.0 < value <= _MAX_SEGMENT_EPOCHS:
                raise ValueError(
                    f"Trial {t.number}'s {EPOCHS_ATTR!r} must be a number of epochs in (0, "
                    f"{_MAX_SEGMENT_EPOCHS:g}]. It is {str(t.user_attrs.get(EPOCHS_ATTR))[:40]!r}: "
                    "the storage holds a "
                    "trial optuna-glo's worker did not write."
                )
            return float(value)
    raise ValueError(
        f"Study {study.study_name!r} has no completed trial trained from fresh weights that "
        f"records {EPOCHS_ATTR!r}: run its first generation with `optuna-glo worker`."
    )


def keeps_elites(study: optuna.Study) -> bool:
    """Whether a generation's population carries individuals over from the last one: EPBT with
    ``n_elites >= 1`` (section 3.2, Stage 3); PBT retrains every member."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not any(EPBT_GENERATION_KEY in t.system_attrs for t in complete):
        return False
    settings = study._storage.get_study_system_attrs(study._study_id).get(EPBT_SETTINGS_KEY)
    n_elites = settings.get("n_elites") if isinstance(settings, dict) else None
    if n_elites is None:
        return True  # EPBTSampler's default keeps p / 2
    if isinstance(n_elites, bool) or not isinstance(n_elites, int) or n_elites < 0:
        raise ValueError(
            f"The study's {EPBT_SETTINGS_KEY!r} must hold an int n_elites >= 0. It holds "
            f"{str(n_elites)[:40]!r}."
        )
    return n_elites > 0


def population_best(study: optuna.Study) -> list[Point]:
    """The fittest individual of each generation's population (EPBT Fig. 2's "best model in
    EPBT's population"), one point per generation with a completed trial.

    EPBT keeps the ``k`` fittest individuals (section 3.2), so with ``k >= 1`` the best of ``P_g``
    is the best of every trial up to generation g; without elites (PBT, EPBT with ``k = 0``) it is
    the best trial of generation g. Ties go to the earlier trial, as in the samplers.
    """
    seg = segment_epochs(study)
    by_gen: dict[int, list[Segment]] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        s = segment_of(t)
        if s.generation is not None and s.val_accuracy is not None:
            by_gen.setdefault(s.generation, []).append(s)
    elites = keeps_elites(study)
    points: list[Point] = []
    record: Segment | None = None
    for gen in sorted(by_gen):
        best = max(by_gen[gen], key=lambda s: (s.val_accuracy, -s.trial))
        if elites and record is not None and _fitness(record) >= _fitness(best):
            best = record
        record = best
        points.append(Point(gen, (gen + 1) * seg, best.trial, _fitness(best), best.test_accuracy))
    return points


def lineage_points(study: optuna.Study, trial: FrozenTrial | None = None) -> list[Point]:
    """The segments of ``trial``'s lineage (default: the best individual's) as points."""
    seg = segment_epochs(study)
    return [
        Point(s.generation, (s.generation + 1) * seg, s.trial, s.val_accuracy, s.test_accuracy)
        for s in _lineage(study, trial)
        if s.generation is not None and s.val_accuracy is not None
    ]


def lineage_shapes(study: optuna.Study, trial: FrozenTrial | None = None) -> list[Shape]:
    """The binary view of the TaylorGLO loss of each segment of ``trial``'s lineage (default:
    the best individual's), oldest first; empty when the lineage trains no TaylorGLO loss (PBT
    over SGD). EPBT section 5 draws these ancestries; an elite carried over adds no segment, as
    there its "duplicate individuals that do not change between generations" are removed."""
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    shapes = []
    for s in _lineage(study, trial):
        loss = read_taylor_loss(by_number[s.trial])
        if loss is not None and s.generation is not None:
            y0, values = binary_curve(loss)
            shapes.append(Shape(s.generation, s.trial, y0, values))
    return shapes


def lineage_hyperparameters(
    study: optuna.Study, trial: FrozenTrial | None = None
) -> dict[str, list[tuple[float, float]]]:
    """``{param: [(start epoch, value), ...]}`` along ``trial``'s lineage (default: the best
    individual's): the value each segment trained with from the epoch its generation starts."""
    seg = segment_epochs(study)
    out: dict[str, list[tuple[float, float]]] = {}
    for s in _lineage(study, trial):
        if s.generation is not None:
            for name, value in s.params.items():
                out.setdefault(name, []).append((s.generation * seg, value))
    return out


def _lineage(study: optuna.Study, trial: FrozenTrial | None) -> list[Segment]:
    if trial is None:
        trial = best_individual(study)
        if trial is None:
            raise ValueError(
                f"Study {study.study_name!r} has no completed trial yet: run a worker first."
            )
    return lineage_schedule(study, trial)


def _fitness(s: Segment) -> float:
    assert s.val_accuracy is not None
    return s.val_accuracy
