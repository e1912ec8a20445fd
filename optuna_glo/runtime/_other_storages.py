"""Opening Optuna's journal storages (a file, Redis) and its gRPC storage proxy."""

from __future__ import annotations

import warnings
from pathlib import Path
from urllib.parse import urlsplit

import optuna

from optuna_glo.runtime.storage_errors import StorageError, redact, scrub

#: Seconds to wait for a gRPC storage proxy when a storage is opened.
GRPC_CONNECT_TIMEOUT = 10.0


def open_journal_file(path: str) -> optuna.storages.BaseStorage:
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    if not Path(path).parent.is_dir():
        raise StorageError(f"Cannot open the journal file {path!r}: its directory does not "
                           "exist. Create it, or give another path.")
    return JournalStorage(JournalFileBackend(path))


def open_redis(url: str) -> optuna.storages.BaseStorage:
    import redis
    from optuna.storages.journal import JournalRedisBackend, JournalStorage

    try:
        with warnings.catch_warnings():  # experimental in Optuna since 3.1
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            backend = JournalRedisBackend(url)
        return JournalStorage(backend)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as err:
        raise StorageError(
            f"Cannot reach the Redis server of {redact(url)}: {scrub(str(err), url)}. Check "
            "that it is running and the URL's host, port and database are right."
        ) from None


def grpc_address(url: str) -> tuple[str, int]:
    """``(host, port)`` of a ``grpc://HOST:PORT`` URL."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.path not in ("", "/"):
        raise StorageError(
            f"`--storage` {url!r} must be grpc://HOST:PORT (the address of `optuna-glo "
            "storage-proxy`), e.g. grpc://127.0.0.1:13000."
        )
    return parts.hostname, port


def open_grpc(url: str) -> tuple[optuna.storages.BaseStorage, str]:
    from optuna.storages import GrpcStorageProxy

    host, port = grpc_address(url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        proxy = GrpcStorageProxy(host=host, port=port)
    try:
        proxy.wait_server_ready(timeout=GRPC_CONNECT_TIMEOUT)
    except ConnectionError:
        proxy.close()
        raise StorageError(
            f"Cannot reach the gRPC storage proxy at {host}:{port} within "
            f"{GRPC_CONNECT_TIMEOUT:.0f} s. Start one with `optuna-glo storage-proxy --storage "
            f"URL --host {host} --port {port}`."
        ) from None
    return proxy, f"{host}:{port}"
