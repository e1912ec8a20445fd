"""The other storages the tests use for real: Redis on 127.0.0.1:6379, Optuna's gRPC proxy.

Redis: each test takes an empty database of the server (of its 16) and flushes it afterwards.
gRPC: ``optuna-glo storage-proxy`` in a subprocess over a SQLite file, on a free local port.
A test that needs a server fails (never skips) when it is not running.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

REDIS_URL = os.environ.get("OPTUNA_GLO_TEST_REDIS", "redis://127.0.0.1:6379")
_CLAIM_KEY = "optuna-glo-test:claimed"
REPO = Path(__file__).resolve().parents[1]


@contextmanager
def fresh_redis_database() -> Iterator[str]:
    """The URL of an empty Redis database (1..15) claimed for this test, flushed afterwards."""
    token = uuid.uuid4().hex
    for db in range(1, 16):
        client = redis.Redis.from_url(f"{REDIS_URL}/{db}")
        if client.dbsize() == 0 and client.set(_CLAIM_KEY, token, nx=True):
            try:
                yield f"{REDIS_URL}/{db}"
            finally:
                client.flushdb()
                client.close()
            return
        client.close()
    raise RuntimeError(f"no empty database on the Redis server {REDIS_URL} (1..15)")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def grpc_proxy(database_url: str) -> Iterator[str]:
    """``grpc://127.0.0.1:PORT`` of an ``optuna-glo storage-proxy`` serving ``database_url``."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "optuna_glo", "storage-proxy", "--storage", database_url,
         "--port", str(port), "--threads", "16"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        yield f"grpc://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
