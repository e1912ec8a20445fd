"""Export an EPBT (or PBT over TaylorGLO) loss schedule as a standalone module (torch only).

EPBT finds a loss *schedule* (section 5): the best individual's weights were trained segment by
segment, each segment with its own TaylorGLO parameters. The module holds them, one per
segment of the lineage, and its ``FoundLoss`` takes the epoch::

    from my_schedule import FoundLoss
    criterion = FoundLoss()
    loss = criterion(model(images), labels, epoch)

The epoch is on the population's clock, the one the learning-rate schedule follows (EPBT section
4.1): generation g's segment covers epochs ``[g s, (g + 1) s)``. A generation in which the
individual was carried over as an elite and not trained keeps the previous segment's loss; epochs
past the last segment keep the last loss. At an epoch of generation g's segment the module computes
exactly what ``TaylorGLOLoss`` with that segment's parameters computes, operation for operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from optuna_glo.keys import THETA_PREFIX
from optuna_glo.losses import TaylorGLOLoss
from optuna_glo.reports import _module_text as text
from optuna_glo.reports.lineage import segment_epochs
from optuna_glo.reports.schedule import lineage_schedule
from optuna_glo.suggest import read_taylor_loss

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

_MODULE = '''"""{title}

Exported by optuna-glo {version} from {source}.

One TaylorGLO loss per segment of the lineage (EPBT section 5's loss schedule). Segment i was
trained in generation GENERATIONS[i], epochs [g * SEGMENT_EPOCHS, (g + 1) * SEGMENT_EPOCHS) of the
learning-rate schedule; a generation without a segment (the individual was an elite carried
over untrained) keeps the previous loss, and epochs after the last segment keep the last loss.
Depends on torch only::

    from {module} import FoundLoss
    criterion = FoundLoss()
    loss = criterion(model(inputs), labels, epoch)   # labels: class indices, or one-hot rows
"""

{prelude}

#: FORMULA (above) holds the loss of each segment, oldest first.
#: The TaylorGLO form: "code" (the authors' released code) or "eq5" (as printed).
FORM = {form!r}
#: Epochs per segment.
SEGMENT_EPOCHS = {segment_epochs!r}
#: The generation of each segment, oldest first.
GENERATIONS = {generations!r}
#: The trial that trained each segment (in the study the schedule came from).
TRIALS = {trials!r}
#: Centre (theta_0, theta_1), then one coefficient per term, for each segment.
THETAS = {thetas}


def segment_at(epoch: float) -> int:
    """The index into THETAS of the loss that trains ``epoch`` (0-based, may be fractional)."""
    if not epoch >= 0:
        raise ValueError(f"`epoch` must be a number >= 0. It is {{epoch!r}}.")
    index = 0
    for i, generation in enumerate(GENERATIONS):
        if generation * SEGMENT_EPOCHS <= epoch:
            index = i
    return index


class FoundLoss(nn.Module):
    """L(x, y, epoch) = {outer} f_epoch(x_i, y_i), averaged over the batch by default."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
{reduction_check}        dtype = torch.get_default_dtype()
        self.register_buffer("thetas", torch.tensor(THETAS, dtype=dtype))
{terms}
    def pointwise(self, x: torch.Tensor, y: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """f(x, y) elementwise for the parameters ``theta``."""
{body}
    def forward(self, logits: torch.Tensor, target: torch.Tensor, epoch: float) -> torch.Tensor:
        x = _one_hot(target, logits)
        y = torch.softmax(logits, dim=-1)
        theta = self.thetas[segment_at(epoch)]
        per_sample = -self.pointwise(x, y, theta).{combine}(dim=-1)
{reduce_batch}
    def extra_repr(self) -> str:
        return f"reduction={{self.reduction!r}}, segments={{len(GENERATIONS)}}"
'''


@dataclass(frozen=True)
class LossSchedule:
    """A lineage's TaylorGLO losses, one per segment, oldest first.

    Attributes:
        generations: The generation of each segment (increasing).
        trials: The trial of each segment.
        losses: The loss of each segment (one form and order).
        thetas: The stored parameters of each segment's loss.
        segment_epochs: Epochs per segment.
    """

    generations: list[int]
    trials: list[int]
    losses: list[TaylorGLOLoss]
    thetas: list[list[float]]
    segment_epochs: float


def loss_schedule(study: optuna.Study, trial: FrozenTrial) -> LossSchedule:
    """The TaylorGLO loss schedule ``trial``'s weights were trained with.

    Raises:
        ValueError: The lineage trains no TaylorGLO loss (PBT over SGD), or its segments differ in
            form or order (stored data optuna-glo did not write).
    """
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    generations, trials, losses, thetas = [], [], [], []
    for s in lineage_schedule(study, trial):
        loss = read_taylor_loss(by_number[s.trial])
        if loss is None or s.generation is None:
            raise ValueError(
                f"Trial {s.trial} of trial {trial.number}'s lineage has no TaylorGLO loss and "
                "generation: only EPBT and PBT over TaylorGLO studies have a loss schedule (PBT "
                "over SGD trains cross-entropy; `optuna-glo best` prints its schedule)."
            )
        generations.append(s.generation)
        trials.append(s.trial)
        losses.append(loss)
        params = by_number[s.trial].params
        thetas.append([float(params[f"{THETA_PREFIX}{i}"]) for i in range(loss.theta.numel())])
    if len({(loss.form, loss.order) for loss in losses}) > 1:
        raise ValueError(
            f"Trial {trial.number}'s lineage mixes TaylorGLO forms or orders; the storage holds "
            "trials optuna-glo did not write."
        )
    return LossSchedule(generations, trials, losses, thetas, segment_epochs(study))


def schedule_module_source(
    schedule: LossSchedule, *, source: str = "a study", module: str = "my_schedule"
) -> str:
    """The text of a standalone module whose ``FoundLoss`` follows ``schedule`` by epoch."""
    from optuna_glo import __version__

    first = schedule.losses[0]
    title = (
        f"An EPBT loss schedule found by optuna-glo: {len(schedule.losses)} TaylorGLO losses "
        f"(order {first.order}, {first.form} form)."
    )
    outer, combine = ("-sum_i", "sum") if first.form == "code" else ("-(1/n) * sum_i", "mean")
    formulas = tuple(loss.formula() for loss in schedule.losses)
    return _MODULE.format(
        title=text.docstring_text(title), version=text.docstring_text(__version__),
        source=text.docstring_text(source), module=text.docstring_text(module),
        prelude=text.PRELUDE.format(formula_literal=_rows(ascii(f) for f in formulas)),
        form=first.form, segment_epochs=float(schedule.segment_epochs),
        generations=[int(g) for g in schedule.generations],
        trials=[int(t) for t in schedule.trials],
        thetas=_rows(repr(theta) for theta in schedule.thetas),
        reduction_check=text.REDUCTION_CHECK, reduce_batch=text.REDUCE_BATCH,
        terms=text.taylor_terms_source(first.order, first.form),
        body=text.taylor_body_source(first.order, "theta"),
        outer=outer, combine=combine,
    )


def _rows(items: Iterable[str]) -> str:
    """A tuple literal, one item per line."""
    return "(\n" + "".join(f"    {item},\n" for item in items) + ")"


def export_schedule(study: optuna.Study, trial: FrozenTrial, out: Path) -> Path:
    """Write the loss schedule of ``trial``'s lineage to ``out`` (a checked ``.py`` path)."""
    value = f", validation accuracy {trial.value:.4f}" if trial.value is not None else ""
    source = f"study {study.study_name!r}, lineage of trial {trial.number}{value}"
    schedule = loss_schedule(study, trial)
    module_text = schedule_module_source(schedule, source=source, module=out.stem)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(module_text, encoding="utf-8")
    return out
