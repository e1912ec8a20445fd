"""Slots claimed through trial numbers (optuna_glo/samplers/pbt/_ticket.py): pure functions."""

from __future__ import annotations

import pytest
from optuna.trial import FrozenTrial, TrialState, create_trial

from optuna_glo.keys import TICKET_KEY
from optuna_glo.samplers.pbt._ticket import Layout, claim, lowest_open, ordinals, read_ticket


def _trial(number: int, state: TrialState, ticket: list[int] | None = None) -> FrozenTrial:
    attrs = {} if ticket is None else {TICKET_KEY: ticket}
    trial = create_trial(
        state=state, value=0.0 if state == TrialState.COMPLETE else None, system_attrs=attrs
    )
    trial.number = number
    return trial


def test_copies_keep_their_ordinal_and_claim_none() -> None:
    done, running = TrialState.COMPLETE, TrialState.RUNNING
    trials = [
        _trial(0, done, [0, 0]),
        _trial(1, TrialState.FAIL, [1, 1]),
        _trial(2, running),  # claimed, ticket not written yet
        _trial(3, TrialState.WAITING, [1, 1]),  # a re-run copy of trial 1
        _trial(4, done, [3, 4]),
    ]
    assert ordinals(trials) == {0: 0, 1: 1, 2: 2, 3: 1, 4: 3}
    assert claim(trials, 5) == 4  # the next new trial gets ordinal 4, none skipped or repeated
    assert claim(trials, 3) == 3


def test_layout_of_epbt_generations() -> None:
    layout = Layout(first=40, later=20)  # EPBT section 4.1: p = 40, k = 20
    assert layout.locate(39) == (0, 39)
    assert layout.locate(40) == (1, 0)
    assert layout.locate(519) == (24, 19)
    assert layout.n_trials(25) == 520  # EPBT section 4.4: "up to 520" loss functions
    assert layout.start(2) == 60 and layout.size(0) == 40 and layout.size(7) == 20


def test_lowest_open_generation() -> None:
    layout = Layout(first=2, later=1)
    done, running = TrialState.COMPLETE, TrialState.RUNNING
    assert lowest_open([], layout) == 0
    assert lowest_open([_trial(0, done, [0, 0])], layout) == 0  # slot 1 unclaimed
    both = [_trial(0, done, [0, 0]), _trial(1, TrialState.FAIL, [1, 1])]
    assert lowest_open(both, layout) == 1
    waiting_copy = [*both, _trial(2, TrialState.WAITING, [1, 1])]
    assert lowest_open(waiting_copy, layout) == 1  # a waiting copy holds nothing open
    running_copy = [*both, _trial(2, running, [1, 1])]
    assert lowest_open(running_copy, layout) == 0


@pytest.mark.parametrize("stored", [[1], [1, -2], ["1", 2], [True, 0], "0,0", None])
def test_malformed_tickets_are_refused(stored: object) -> None:
    if stored is None:
        assert read_ticket({}) is None
        return
    with pytest.raises(ValueError, match=f"`{TICKET_KEY}` must be \\[ordinal, trial number\\]"):
        read_ticket({TICKET_KEY: stored})
