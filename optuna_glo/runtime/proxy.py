"""Optuna's gRPC storage proxy in front of a database (``optuna-glo storage-proxy``)."""

from __future__ import annotations

import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import optuna

from optuna_glo.runtime.storage import StorageError, open_storage, redact, storage_kind


def proxied_storage(url: str, *, threads: int) -> optuna.storages.BaseStorage:
    """The storage a proxy serves: an ``RDBStorage`` with Optuna's in-process cache.

    ``run_grpc_proxy_server``'s documentation asks for ``optuna.storages.get_storage`` (which
    adds ``_CachedStorage``) rather than a bare ``RDBStorage``, and says the proxy does not
    support ``JournalStorage`` (optuna/optuna#6084). Each serving thread may hold a connection.
    """
    kind = storage_kind(url)
    if kind != "rdb":
        raise StorageError(
            f"`storage-proxy --storage` must be a database URL (sqlite:///FILE.db or "
            f"postgresql://...), not a {kind} storage: Optuna's gRPC proxy does not serve "
            f"journal storages. The specified value is {redact(url)!r}."
        )
    rdb = open_storage(url, pool_size=threads, max_overflow=0,
                       application_name="optuna-glo storage-proxy")
    return optuna.storages.get_storage(rdb)


def serve_storage(url: str, *, host: str, port: int, threads: int) -> None:
    """Serve the storage at ``host:port`` until interrupted."""
    storage = proxied_storage(url, threads=threads)
    print(f"Serving {redact(url)} at grpc://{host}:{port} ({threads} threads). Workers: "
          f"--storage grpc://{host}:{port}", file=sys.stderr, flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.run_grpc_proxy_server(
            storage, host=host, port=port,
            thread_pool=ThreadPoolExecutor(max_workers=threads),
        )
