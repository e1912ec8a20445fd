"""Worker options: every number is checked once, with the flag, the range and the value."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from optuna_glo.cli import main
from optuna_glo.runtime.worker import WorkerOptions

BAD_OPTIONS = [
    ("n_trials", 0),
    ("heartbeat_interval", -1),
    ("heartbeat_interval", 1.5),
    ("grace_period", 30),  # not longer than the default heartbeat interval of 30 s
    ("grace_period", 0),
    ("max_retry", -1),
    ("pool_size", 0),
    ("pool_size", -3),
    ("pool_size", True),
    ("max_overflow", -1),
    ("reconnect_timeout", math.nan),
    ("reconnect_timeout", math.inf),
    ("reconnect_timeout", 0),
    ("reconnect_timeout", -5.0),
    ("population_batch", 0),
]


@pytest.mark.parametrize(("field", "value"), BAD_OPTIONS)
def test_a_bad_number_is_one_line_naming_the_option_its_range_and_the_value(
    field: str, value: object
) -> None:
    with pytest.raises(ValueError) as info:
        WorkerOptions(**{field: value})  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"`{field}`") and " must be " in message
    assert message.endswith(f"The specified value is {value!r}.")
    if field != "max_overflow":  # the one option without a flag
        assert f"(--{field.replace('_', '-')})" in message


def test_heartbeat_interval_0_turns_heartbeats_off_and_grace_defaults_to_four_beats() -> None:
    assert WorkerOptions(heartbeat_interval=0).heartbeat_interval is None
    assert WorkerOptions(heartbeat_interval=0).effective_grace_period is None
    assert WorkerOptions(heartbeat_interval=10).effective_grace_period == 40
    assert WorkerOptions(heartbeat_interval=10, grace_period=11).effective_grace_period == 11
    with pytest.raises(ValueError, match="`grace_period`"):
        WorkerOptions(heartbeat_interval=0, grace_period=5)


#: Flags, the flag the error names, and the value it shows.
BAD_FLAGS = [
    (["--pool-size", "0"], "--pool-size", "0"),
    (["--pool-size", "-3"], "--pool-size", "-3"),
    (["--reconnect-timeout", "nan"], "--reconnect-timeout", "nan"),
    (["--reconnect-timeout", "inf"], "--reconnect-timeout", "inf"),
    (["--reconnect-timeout", "0"], "--reconnect-timeout", "0.0"),
    (["--heartbeat-interval", "-1"], "--heartbeat-interval", "-1"),
    (["--heartbeat-interval", "5", "--grace-period", "5"], "--grace-period", "5"),
    (["--max-retry", "-1"], "--max-retry", "-1"),
    (["--population-batch", "0"], "--population-batch", "0"),
]


@pytest.mark.parametrize("command", ["worker", "launch"])
@pytest.mark.parametrize(
    ("flags", "flag", "shown"), BAD_FLAGS, ids=[" ".join(f[0]) for f in BAD_FLAGS]
)
def test_bad_worker_flags_exit_2_with_one_line_before_the_storage_is_opened(
    command: str, flags: list[str], flag: str, shown: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "never-made.db"
    code = main([command, "--study", "s", "--storage", f"sqlite:///{database}", *flags])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"optuna-glo {command}: error: `"), err
    assert f"({flag}) must be" in err and err.endswith(f"The specified value is {shown}.\n"), err
    assert not database.exists(), "the storage was opened before the flags were checked"


def test_n_trials_0_is_refused_by_the_worker_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["worker", "--study", "s", "--storage", f"sqlite:///{tmp_path / 'x.db'}",
                 "--n-trials", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "`n_trials` (--n-trials) must be a whole number >= 1" in err, err
