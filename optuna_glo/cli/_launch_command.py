"""``launch``: one worker process per GPU of this machine, with one combined progress bar.

Each worker is an ``optuna-glo worker`` process pinned to its GPU with ``CUDA_VISIBLE_DEVICES``;
it reads the storage URL from ``$OPTUNA_STORAGE``, so a password in it never reaches a command
line.
Workers run in their own process group: the launcher passes Ctrl-C and SIGTERM on itself, so a
first Ctrl-C lets every worker finish its running trial, a second one (or SIGTERM) makes them give
their trials back at once. No trial is left RUNNING either way.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType
from typing import IO, Any

from optuna_glo.cli._arguments import STORAGE_ENV, add_artifact_arguments, add_study_arguments
from optuna_glo.cli._worker_options import add_worker_options, worker_flags, worker_options


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "launch", help="start one worker per GPU of this machine on a study",
        description="Start `optuna-glo worker` processes on this machine: one per GPU (pinned "
        "with CUDA_VISIBLE_DEVICES), K per GPU with --workers-per-gpu, plus --cpu-workers on the "
        "CPU, and show their combined progress. Run it on every GPU node with the same --study "
        "and a shared PostgreSQL storage (given to the workers in $OPTUNA_STORAGE, never on "
        "their command lines). Ctrl-C: workers finish their running trials and "
        "stop; Ctrl-C again or SIGTERM: they give their trials back to the study at once.",
    )
    add_study_arguments(p)
    p.add_argument(
        "--gpus", default="all", metavar="all|none|I,J,...",
        help="GPUs to use: all (default), none, or a comma-separated list of GPU indices",
    )
    p.add_argument(
        "--workers-per-gpu", type=int, default=1, metavar="K",
        help="worker processes per GPU (default: 1)",
    )
    p.add_argument(
        "--cpu-workers", type=int, default=None, metavar="N",
        help="worker processes on the CPU (default: 0, or 1 when this machine has no GPU)",
    )
    p.add_argument(
        "--data-dir", default=None,
        help="where data sets are read (default: $OPTUNA_GLO_DATA_DIR or ~/.cache/optuna-glo)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the combined progress bar")
    add_artifact_arguments(p)
    add_worker_options(p)
    p.set_defaults(handler=launch_command)


def _visible_gpus() -> list[str]:
    """GPU ids this process may use, as ``CUDA_VISIBLE_DEVICES`` names them for children."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    parent = os.environ.get("CUDA_VISIBLE_DEVICES")
    if parent is not None and parent.strip():
        ids = [g.strip() for g in parent.split(",") if g.strip()]
        return ids[:count]
    return [str(i) for i in range(count)]


def choose_gpus(spec: str, visible: list[str]) -> list[str]:
    """The GPUs ``--gpus`` asks for, checked against the visible ones."""
    spec = spec.strip().lower()
    if spec == "all":
        return visible
    if spec == "none":
        return []
    try:
        wanted = [int(g) for g in spec.split(",") if g.strip()]
    except ValueError:
        raise ValueError(
            f"`--gpus` must be all, none or comma-separated GPU indices such as 0,1,3. It is "
            f"{spec!r}."
        ) from None
    missing = [g for g in wanted if not 0 <= g < len(visible)]
    if missing:
        have = f"GPUs 0 to {len(visible) - 1}" if visible else "no CUDA GPU"
        raise ValueError(
            f"`--gpus` asks for GPU(s) {', '.join(map(str, missing))} but this machine has "
            f"{have}."
        )
    return [visible[g] for g in wanted]


#: The signals the launcher passes on to its workers.
_PASSED_ON = frozenset({signal.SIGINT, signal.SIGTERM})


@dataclass
class _Child:
    label: str
    proc: subprocess.Popen[str]


def _forward_output(child: _Child, lock: threading.Lock) -> None:
    from tqdm.auto import tqdm

    stream: IO[str] | None = child.proc.stdout
    assert stream is not None
    for line in stream:
        with lock:
            tqdm.write(f"[{child.label}] {line.rstrip()}", file=sys.stderr)


def launch_command(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from optuna_glo.runtime.storage import redact
    from optuna_glo.runtime.study import load_study

    if args.workers_per_gpu < 1:
        raise ValueError(f"`--workers-per-gpu` must be >= 1, got {args.workers_per_gpu}.")
    if args.cpu_workers is not None and args.cpu_workers < 0:
        raise ValueError(f"`--cpu-workers` must be >= 0, got {args.cpu_workers}.")
    worker_options(args)  # bad flags fail here, not in every child
    study, spec = load_study(args.study, args.storage, with_sampler=False, pool_size=2)
    gpus = choose_gpus(args.gpus, _visible_gpus())
    cpu_workers = args.cpu_workers
    if not gpus:
        if cpu_workers is None:
            cpu_workers = 1
        if args.gpus.strip().lower() == "all":
            print(
                f"No CUDA GPU found on this machine: running {cpu_workers} CPU worker(s).",
                file=sys.stderr,
            )
    cpu_workers = cpu_workers or 0
    if not gpus and cpu_workers == 0:
        raise ValueError("Nothing to launch: no GPU is used and `--cpu-workers` is 0.")

    # The storage URL (maybe with a password) goes to the workers in their environment, which
    # only this user can read, never in their argv, which `ps` shows everyone.
    base = [
        sys.executable, "-m", "optuna_glo", "worker", "--study", args.study, "--no-progress",
        *worker_flags(args),
    ]
    if args.data_dir:
        base += ["--data-dir", args.data_dir]
    if args.no_artifacts:
        base += ["--no-artifacts"]
    if args.artifact_dir:
        base += ["--artifact-dir", args.artifact_dir]
    plan: list[tuple[str, list[str], dict[str, str]]] = []
    for gpu in gpus:
        for k in range(args.workers_per_gpu):
            label = f"gpu{gpu}" + (f".{k}" if args.workers_per_gpu > 1 else "")
            env = {**os.environ, STORAGE_ENV: args.storage, "CUDA_VISIBLE_DEVICES": gpu}
            plan.append((label, [*base, "--device", "cuda"], env))
    for k in range(cpu_workers):
        env = {**os.environ, STORAGE_ENV: args.storage, "CUDA_VISIBLE_DEVICES": ""}
        plan.append((f"cpu{k}", [*base, "--device", "cpu"], env))

    children: list[_Child] = []
    lock = threading.Lock()
    forwarded: set[int] = set()

    def forward(signum: int, frame: FrameType | None) -> None:
        forwarded.add(signum)
        with lock:
            tqdm.write(
                f"optuna-glo launch: {signal.Signals(signum).name}: passing it on to the workers",
                file=sys.stderr,
            )
        for child in children:
            if child.proc.poll() is None:
                child.proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in _PASSED_ON}
    bar = None
    try:
        print(
            f"Launching {len(plan)} worker(s) on study {args.study!r} in "
            f"{redact(args.storage)}: {', '.join(label for label, _, _ in plan)}.",
            file=sys.stderr,
        )
        # The workers start with SIGINT and SIGTERM blocked (the mask is inherited): one that
        # comes while a worker is still starting waits, pending, until the worker's own handlers
        # take it (``runtime/worker/_signals.py``) instead of killing it half-started. Here it
        # waits until every worker is in ``children``, then ``forward`` passes it on.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _PASSED_ON)
        try:
            for label, cmd, env in plan:
                proc = subprocess.Popen(
                    cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                    start_new_session=True,
                )
                child = _Child(label, proc)
                children.append(child)
                threading.Thread(target=_forward_output, args=(child, lock), daemon=True).start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        budget = spec.n_trials
        bar = tqdm(
            total=budget, desc=args.study, unit="trial", disable=args.no_progress,
            dynamic_ncols=True,
        )
        while any(c.proc.poll() is None for c in children):
            _show_progress(bar, study, budget, children)
            time.sleep(1.0)
        _show_progress(bar, study, budget, children)
    finally:
        if bar is not None:
            bar.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    status = 0
    for child in children:
        code = child.proc.wait()
        if _stopped_as_asked(code, forwarded):
            print(f"optuna-glo launch: worker {child.label} stopped on the signal after its last "
                  "trial", file=sys.stderr)
        elif code != 0:
            print(f"optuna-glo launch: worker {child.label} exited with status {code}",
                  file=sys.stderr)
            if status == 0:
                status = code if code > 0 else 1
    return status


def _stopped_as_asked(code: int, forwarded: set[int]) -> bool:
    """Whether a worker's exit status is the signal it was passed: a worker stops cleanly on its
    own handlers while its loop runs (status 0); one that has left its loop has them no more and
    exits 130 (``optuna-glo``'s KeyboardInterrupt status) on SIGINT, or dies of SIGTERM, with no
    trial to give back."""
    return (code == 130 and signal.SIGINT in forwarded) or (
        code == -signal.SIGTERM and signal.SIGTERM in forwarded
    )


def _show_progress(bar: Any, study: Any, budget: int, children: list[_Child]) -> None:
    from optuna.trial import TrialState

    try:
        trials = study.get_trials(deepcopy=False)
    except Exception:  # the database is away: the workers report it; keep the last figures
        return
    count = {s: 0 for s in TrialState}
    best: float | None = None
    for t in trials:
        count[t.state] += 1
        if t.state == TrialState.COMPLETE and t.value is not None:
            best = t.value if best is None else max(best, t.value)
    bar.n = min(budget, count[TrialState.COMPLETE] + count[TrialState.PRUNED])
    bar.set_postfix(
        workers=sum(c.proc.poll() is None for c in children),
        running=count[TrialState.RUNNING],
        failed=count[TrialState.FAIL],
        best=f"{best:.4f}" if best is not None else "-",
        refresh=False,
    )
    bar.refresh()
