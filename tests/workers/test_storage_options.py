"""Storage URLs: pool options, the bounded pool, and passwords never shown."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from worker_helpers import finish, optuna_glo, worker

from optuna_glo.runtime.storage import (
    DEFAULT_POOL_SIZE,
    StorageError,
    engine_kwargs_for,
    open_storage,
    redact,
    split_pool_options,
)

PASSWORD = "Sup3r-Secret-pw"


def test_pool_options_are_taken_out_of_the_url() -> None:
    url, options = split_pool_options(
        f"postgresql://u:{PASSWORD}@db:5432/s?pool_size=8&max_overflow=2&sslmode=require"
    )
    assert options == {"pool_size": 8, "max_overflow": 2}
    assert "pool_size" not in url and "max_overflow" not in url and "sslmode=require" in url
    kwargs = engine_kwargs_for("postgresql://u@db/s?pool_size=8&pool_timeout=5")
    assert kwargs["pool_size"] == 8 and kwargs["pool_timeout"] == 5.0
    assert kwargs["max_overflow"] == 0 and kwargs["pool_pre_ping"] is True
    assert engine_kwargs_for("postgresql://u@db/s")["pool_size"] == DEFAULT_POOL_SIZE
    assert engine_kwargs_for("postgresql://u@db/s?pool_size=8", pool_size=2)["pool_size"] == 2


@pytest.mark.parametrize("query", ["pool_size=0", "pool_size=many", "max_overflow=-1"])
def test_bad_pool_options_name_the_option(query: str) -> None:
    with pytest.raises(StorageError, match=query.split("=")[0]) as info:
        open_storage(f"postgresql://u:{PASSWORD}@127.0.0.1/s?{query}")
    assert PASSWORD not in str(info.value)


def test_unreachable_server_error_hides_the_password() -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/nothing"
    with pytest.raises(StorageError, match="Cannot reach") as info:
        open_storage(url)
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in redact(url)
    proc = optuna_glo("worker", "--study", "s", "--storage", url, "--no-progress")
    out = finish(proc)
    assert proc.returncode == 2 and "Cannot reach" in out
    assert PASSWORD not in out


@pytest.mark.slow
@pytest.mark.postgres
def test_password_never_printed_by_create_study_and_worker(
    pg_url: str, make_study: Callable[..., str]
) -> None:
    # The test server trusts local connections, so any password is accepted.
    url = pg_url.replace("postgres@", f"postgres:{PASSWORD}@")
    assert PASSWORD in url
    study = make_study(url, n_trials=2, steps=5)
    proc = worker(url, study, "--heartbeat-interval", "1", "--grace-period", "3")
    out = finish(proc)
    assert proc.returncode == 0, out
    assert PASSWORD not in out
    proc = optuna_glo("create-study", "no-such-spec.toml", "--storage", url)
    assert PASSWORD not in finish(proc)
