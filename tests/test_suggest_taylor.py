"""suggest_taylor_loss and load_loss carry a TaylorGLO loss's form from the trial to the loss."""

from __future__ import annotations

import optuna
import pytest
import torch

from optuna_glo import load_loss, suggest_taylor_loss
from optuna_glo.keys import TAYLOR_FORM_ATTR
from optuna_glo.losses import TaylorGLOLoss


@pytest.mark.parametrize("form", ["code", "eq5"])
def test_the_trials_form_is_recorded_and_read_back(form: str) -> None:
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    loss = suggest_taylor_loss(trial, form=form)
    assert loss.form == form and trial.user_attrs[TAYLOR_FORM_ATTR] == form
    study.tell(trial, 0.5)
    loaded = load_loss(study)
    assert isinstance(loaded, TaylorGLOLoss) and loaded.form == form
    logits, target = torch.randn(4, 10), torch.tensor([0, 3, 9, 1])
    assert torch.equal(loaded(logits, target), loss(logits, target))


def test_default_form_is_the_authors_code() -> None:
    trial = optuna.create_study().ask()
    assert suggest_taylor_loss(trial).form == "code"


def _stored_trial(user_attrs: dict[str, object]) -> optuna.trial.FrozenTrial:
    dist = optuna.distributions.FloatDistribution(-20.0, 20.0)
    return optuna.trial.create_trial(
        params={f"taylor_theta_{i}": 0.5 for i in range(8)},
        distributions={f"taylor_theta_{i}": dist for i in range(8)},
        value=0.5, user_attrs=user_attrs,
    )


def test_a_trial_stored_without_a_form_is_an_eq5_loss() -> None:
    # Before forms were recorded every TaylorGLO trial was an eq. 5 loss.
    loss = load_loss(_stored_trial({}))
    assert isinstance(loss, TaylorGLOLoss) and loss.form == "eq5"


def test_a_stored_form_that_is_not_known_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"form '\\x1b\[31mred'; known forms: code, eq5") as err:
        load_loss(_stored_trial({TAYLOR_FORM_ATTR: "\x1b[31mred"}))
    assert "\n" not in str(err.value)


def test_unknown_form_is_refused_before_suggesting() -> None:
    trial = optuna.create_study().ask()
    with pytest.raises(ValueError, match="The specified `form` is 'eq3'"):
        suggest_taylor_loss(trial, form="eq3")
    assert trial.params == {}
