"""From a study or a trial back to its loss: the one place that knows how trials carry losses.

A TaylorGLO trial carries its loss as parameters ``taylor_theta_0..`` (TaylorGLO eq. 5) and its
form as the user attribute ``"taylor_form"`` (``"eq5"`` where it has none: older trials); a GLO
trial carries an expression tree as text in its attributes (written by the GP sampler; read back
by the project's own parser, never by ``eval``). Methods that carry losses another way register a
reader in :data:`LOSS_READERS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import optuna
from optuna.trial import FrozenTrial, TrialState

from optuna_glo.keys import (
    LR_ATTR,
    MAX_COEFFICIENT,
    MAX_TAYLOR_ORDER,
    TAYLOR_FORM_ATTR,
    THETA_PREFIX,
    TREE_ATTR,
    TREE_KEY,
    UNRECORDED_TAYLOR_FORM,
)
from optuna_glo.losses import (
    TAYLOR_FORMS,
    ClassificationLoss,
    TaylorGLOLoss,
    n_taylor_params,
    order_from_n_params,
)

if TYPE_CHECKING:
    from optuna_glo.losses.trees import TreeLoss

#: Reads the loss of a trial, or returns ``None`` when the trial does not carry one of its kind.
LossReader = Callable[[FrozenTrial], ClassificationLoss | None]

# A stored parameter vector longer than a MAX_TAYLOR_ORDER loss's (keys.py; 212 entries) is refused
# before anything is built from it, and so is a ``|theta_i|`` over MAX_COEFFICIENT: far outside
# the default bounds (``keys.THETA_BOUNDS`` is +-20) and the largest a spec's ``bound`` may be,
# and small enough that the third power of a shifted label stays finite in float32.

def read_tree_loss(trial: FrozenTrial) -> TreeLoss | None:
    """The GLO expression-tree loss of ``trial``, if it carries a tree.

    The text comes from a shared database: it is read by the project's parser only, and a stored
    value that is not a loss tree is a one-line ``ValueError`` naming the trial.
    """
    text = trial.user_attrs.get(TREE_ATTR, trial.system_attrs.get(TREE_KEY))
    if text is None:
        return None
    from optuna_glo.losses.trees import TreeLoss, TreeSyntaxError, parse

    if not isinstance(text, str):
        raise ValueError(
            f"Trial {trial.number}'s stored loss tree ({TREE_ATTR!r}) must be text. It is a "
            f"{type(text).__name__}: the storage holds a value optuna-glo did not write."
        )
    try:
        return TreeLoss(parse(text))
    except TreeSyntaxError as err:
        raise ValueError(
            f"Trial {trial.number}'s stored loss tree ({TREE_ATTR!r}) is not a loss tree: "
            f"{err.message} at position {err.position}. The storage holds a value optuna-glo "
            "did not write, or one it no longer reads."
        ) from None


def _theta_index(name: str) -> int | None:
    """``K`` of a parameter named ``taylor_theta_K`` (ASCII digits, at most 3), else ``None``."""
    suffix = name[len(THETA_PREFIX) :] if name.startswith(THETA_PREFIX) else ""
    if not (0 < len(suffix) <= 3 and suffix.isascii() and suffix.isdigit()):
        return None
    return int(suffix)


def _theta_value(trial: FrozenTrial, name: str) -> float:
    value = trial.params[name]
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not abs(value) <= MAX_COEFFICIENT  # also refuses nan and inf
    ):
        raise ValueError(
            f"Trial {trial.number}'s TaylorGLO parameter {name!r} must be a number of at most "
            f"{MAX_COEFFICIENT:g} in absolute value. It is {str(value)[:40]!r}."
        )
    return float(value)


def read_taylor_loss(trial: FrozenTrial) -> TaylorGLOLoss | None:
    """The TaylorGLO loss of ``trial`` from its ``taylor_theta_K`` parameters, if it has them.

    Its form is the trial's ``"taylor_form"`` attribute; a trial without one was stored before
    optuna-glo recorded forms, when every TaylorGLO loss was an eq. 5 loss.
    """
    named = {k: name for name in trial.params if (k := _theta_index(name)) is not None}
    if not named:
        return None
    indices = sorted(named)
    if len(indices) > n_taylor_params(MAX_TAYLOR_ORDER):
        raise ValueError(
            f"Trial {trial.number} has {len(indices)} TaylorGLO parameters, more than an order-"
            f"{MAX_TAYLOR_ORDER} loss has ({n_taylor_params(MAX_TAYLOR_ORDER)})."
        )
    if indices != list(range(len(indices))):
        raise ValueError(
            f"Trial {trial.number} has TaylorGLO parameters {indices}, not 0..{len(indices) - 1}."
        )
    order_from_n_params(len(indices))  # a clear error for an impossible count
    form = trial.user_attrs.get(TAYLOR_FORM_ATTR, UNRECORDED_TAYLOR_FORM)
    if form not in TAYLOR_FORMS:  # stored data: never trusted
        raise ValueError(
            f"Trial {trial.number} has TaylorGLO form {str(form)[:40]!a}; known forms: "
            f"{', '.join(TAYLOR_FORMS)}."
        )
    return TaylorGLOLoss([_theta_value(trial, named[i]) for i in indices], form=form)


#: Readers tried in order; the first that returns a loss wins. Extend for new methods.
LOSS_READERS: list[LossReader] = [read_tree_loss, read_taylor_loss]


def _frozen(trial: optuna.trial.BaseTrial | FrozenTrial) -> FrozenTrial:
    if isinstance(trial, FrozenTrial):
        return trial
    if isinstance(trial, optuna.Trial):
        # A live trial caches attrs from before the sampler's before_trial: read the storage.
        return trial.study._storage.get_trial(trial._trial_id)
    raise TypeError(
        f"`trial` must be an optuna.Trial or a FrozenTrial. It is a {type(trial).__name__}."
    )


def best_trial(study: optuna.Study) -> FrozenTrial:
    """The study's best completed trial; a ``ValueError`` when none has completed."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise ValueError(
            f"Study {study.study_name!r} has no completed trial yet, so it has no best loss. "
            "Run a worker first."
        )
    return study.best_trial


def load_loss(
    study_or_trial: optuna.Study | optuna.trial.BaseTrial | FrozenTrial,
) -> ClassificationLoss:
    """The loss of a trial, or of a study's best trial: a drop-in for ``nn.CrossEntropyLoss``.

    Example::

        study = optuna.load_study(study_name="quickstart", storage="sqlite:///optuna-glo.db")
        loss_fn = optuna_glo.load_loss(study)          # the best trial's loss
        loss = loss_fn(model(images), labels)

    Args:
        study_or_trial: An Optuna study (its best completed trial is used), a live trial or a
            frozen trial of an optuna-glo study.

    Returns:
        The loss as a torch module (:class:`~optuna_glo.losses.TaylorGLOLoss`, a tree loss, ...).
    """
    if isinstance(study_or_trial, optuna.Study):
        trial = best_trial(study_or_trial)
    else:
        trial = _frozen(study_or_trial)
    for reader in LOSS_READERS:
        loss = reader(trial)
        if loss is not None:
            return loss
    raise ValueError(
        f"Trial {trial.number} carries no loss that optuna-glo can read: neither TaylorGLO "
        f"parameters ({THETA_PREFIX}0, ...) nor an expression tree ({TREE_ATTR!r})."
    )


def resolve_trial(name: str, study: optuna.Study | None = None) -> FrozenTrial | None:
    """The trial that ``"best"`` or ``"trial:N"`` names, or ``None`` for any other loss name."""
    name = name.strip()
    if name != "best" and not name.startswith("trial:"):
        return None
    if study is None:
        raise ValueError(f"Loss {name!r} needs a study. Pass `--study`.")
    if name == "best":
        return best_trial(study)
    number = name[len("trial:") :]
    trials = study.get_trials(deepcopy=False)
    valid = number.isascii() and number.isdigit() and len(number) <= 18
    matches = [t for t in trials if valid and t.number == int(number)]
    if not matches:
        raise ValueError(f"Loss {name!r}: study {study.study_name!r} has no trial {number}.")
    return matches[0]


def trial_lr(trial: FrozenTrial) -> float | None:
    """The learning rate the search chose for ``trial`` (user attr ``"lr"``), or ``None``.

    Read from a shared database: only a positive finite number counts.
    """
    lr = trial.user_attrs.get(LR_ATTR)
    if isinstance(lr, int | float) and not isinstance(lr, bool) and math.isfinite(lr) and lr > 0:
        return float(lr)
    return None


def resolve_loss(name: str, study: optuna.Study | None = None) -> tuple[str, ClassificationLoss]:
    """A loss named on the command line, with its table label.

    Args:
        name: ``"best"`` (the study's best trial), ``"trial:N"`` (trial ``N`` of the study), a
            named loss (``cross_entropy``, ``baikal``, ``baikal_cma``, ``taylorglo_mnist``), or an
            expression tree's text such as ``"log(y) - x / y"``.
        study: The study that ``best`` and ``trial:N`` refer to.
    """
    from optuna_glo.losses import NAMED_LOSSES, get_loss

    name = name.strip()
    trial = resolve_trial(name, study)
    if trial is not None:
        label = f"best (trial {trial.number})" if name == "best" else f"trial {trial.number}"
        return label, load_loss(trial)
    if name in NAMED_LOSSES:
        return name, get_loss(name)
    from optuna_glo.losses.trees import TreeLoss, TreeSyntaxError, parse

    try:
        return name, TreeLoss(parse(name))
    except TreeSyntaxError as err:
        shown = name if len(name) <= 60 else name[:60] + "..."
        raise ValueError(
            f"Loss {shown!r} is neither 'best', 'trial:N', a named loss "
            f"({', '.join(sorted(NAMED_LOSSES))}) nor a loss expression ({err.message} at "
            f"position {err.position})."
        ) from None
