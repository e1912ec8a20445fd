"""load_loss on values from a shared database: a stored loss that is not one is a one-line error."""

from __future__ import annotations

import math
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

import optuna_glo
from optuna_glo.losses import TaylorGLOLoss
from optuna_glo.losses.trees import TreeLoss

_EIGHT = {f"taylor_theta_{i}": 0.5 for i in range(8)}


def _stored_trial(url: str, *, attrs: dict[str, Any], params: dict[str, Any]) -> Any:
    study = optuna.create_study(storage=url, study_name="stored", load_if_exists=True)
    distributions = {
        name: FloatDistribution(-1e300, 1e300)
        if isinstance(v, float) and math.isfinite(v) else CategoricalDistribution([v])
        for name, v in params.items()
    }
    study.add_trial(optuna.trial.create_trial(
        value=0.5, params=params, distributions=distributions, user_attrs=attrs
    ))
    return study.trials[-1]


@pytest.mark.parametrize(
    ("attrs", "params", "fragment"),
    [
        ({"loss_tree": "{1e400}x"}, {}, "Coefficient '1e400' is out of range"),
        ({"loss_tree": "1" * 5000}, {}, "Integer '111111111111111111111111111111...' is out"),
        ({"loss_tree": "x +\x1b]0;owned\x07 y"}, {}, "Unexpected character '\\x1b' at position 3"),
        ({"loss_tree": "{" + "1" * 19_999}, {}, "Malformed coefficient"),
        ({"loss_tree": ["log(y)"]}, {}, "must be text. It is a list"),
        ({}, {**_EIGHT, "taylor_theta_3": "abc"}, "'taylor_theta_3' must be a number"),
        ({}, {**_EIGHT, "taylor_theta_3": True}, "'taylor_theta_3' must be a number"),
        ({}, {**_EIGHT, "taylor_theta_0": 1e300}, "of at most 1e+09 in absolute value"),
        ({}, {f"taylor_theta_{i}": 0.5 for i in range(300)}, "300 TaylorGLO parameters, more"),
        ({}, {**_EIGHT, "taylor_theta_9": 0.5}, "parameters [0, 1, 2, 3, 4, 5, 6, 7, 9], not"),
    ],
)
def test_a_malformed_stored_loss_is_a_one_line_error(
    sqlite_url: str, attrs: dict[str, Any], params: dict[str, Any], fragment: str
) -> None:
    trial = _stored_trial(sqlite_url, attrs=attrs, params=params)
    with pytest.raises(ValueError) as info:
        optuna_glo.load_loss(trial)
    message = str(info.value)
    assert fragment in message
    assert message.isprintable()  # one line, no terminal escapes
    assert message.startswith(f"Trial {trial.number}")


def test_well_formed_stored_losses_still_load(sqlite_url: str) -> None:
    # An index that is not ASCII digits ("taylor_theta_²") is not a TaylorGLO parameter.
    taylor = _stored_trial(sqlite_url, attrs={}, params={**_EIGHT, "taylor_theta_\u00b2": 0.5})
    loss = optuna_glo.load_loss(taylor)
    assert isinstance(loss, TaylorGLOLoss) and loss.theta.tolist() == [0.5] * 8
    tree = _stored_trial(sqlite_url, attrs={"loss_tree": "{1e9}log(y) - 16777216"}, params={})
    tree_loss = optuna_glo.load_loss(tree)
    assert isinstance(tree_loss, TreeLoss)
    assert tree_loss.text == "{1000000000}log(y) - 16777216"
