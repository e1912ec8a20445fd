"""``storage-proxy``: Optuna's gRPC storage proxy in front of a database, for many workers."""

from __future__ import annotations

import argparse
from typing import Any

from optuna_glo.cli._arguments import add_storage_argument

#: Optuna's default port of the gRPC storage proxy.
DEFAULT_PORT = 13000
#: Threads serving the workers' calls (Optuna's own default is 10).
DEFAULT_THREADS = 32


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "storage-proxy", help="serve a database to many workers through Optuna's gRPC proxy",
        description="Run Optuna's gRPC storage proxy (run_grpc_proxy_server) in front of a "
        "database. Workers then use --storage grpc://HOST:PORT: the proxy keeps one cached view "
        "of the studies, so many workers cost the database far fewer queries. Stop with Ctrl-C.",
    )
    add_storage_argument(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for other machines)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on (default {DEFAULT_PORT})")
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help=f"threads serving the workers' calls (default {DEFAULT_THREADS})")
    p.set_defaults(handler=storage_proxy_command)


def storage_proxy_command(args: argparse.Namespace) -> int:
    from optuna_glo.runtime.proxy import serve_storage

    if not 0 < args.port < 65536:
        raise ValueError(f"`--port` must be in 1..65535. The specified value is {args.port}.")
    if args.threads < 1:
        raise ValueError(f"`--threads` must be >= 1. The specified value is {args.threads}.")
    serve_storage(args.storage, host=args.host, port=args.port, threads=args.threads)
    return 0
