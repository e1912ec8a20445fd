"""``create-study``, ``worker``, ``run`` and ``best``."""

from __future__ import annotations

import argparse
from typing import Any

from optuna_glo.cli._arguments import (
    STORAGE_ENV,
    add_artifact_arguments,
    add_storage_argument,
    add_study_arguments,
    add_training_arguments,
    artifact_hooks,
    check_device,
    storage_flag,
)
from optuna_glo.cli._safe_text import printable
from optuna_glo.cli._worker_options import add_worker_options, worker_options


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "create-study", help="create a study from a TOML spec",
        description="Create the study a spec describes and store the spec in it. Creating the "
        "same study again is harmless; a different spec under an existing name is refused.",
    )
    p.add_argument("spec", help="TOML spec file, e.g. studies/taylorglo-mnist.toml")
    add_storage_argument(p, creates=True)
    p.set_defaults(handler=create_study_command)

    p = subparsers.add_parser(
        "worker", help="run trials of a study until its budget is reached",
        description="Ask the study's sampler for candidate losses, train them and tell the "
        "results, until the spec's budget (or --n-trials of this worker) is reached. Start one "
        "per GPU; any number of workers on any number of machines can share one study.",
    )
    add_study_arguments(p)
    p.add_argument("--n-trials", type=int, default=None, help="stop after N trials of this worker")
    add_training_arguments(p)
    add_worker_options(p)
    add_artifact_arguments(p)
    p.set_defaults(handler=worker_command)

    p = subparsers.add_parser(
        "run", help="create a study from a spec and work on it here (SQLite by default)",
        description="Create the spec's study (in a SQLite file in the current directory unless "
        f"--storage or ${STORAGE_ENV} says otherwise), work on it until its budget is reached, "
        "and print the best loss next to cross-entropy trained the same way.",
    )
    p.add_argument("spec", help="TOML spec file, e.g. studies/quickstart.toml")
    add_storage_argument(p, creates=True)
    add_training_arguments(p)
    add_artifact_arguments(p)
    p.set_defaults(handler=run_command)

    p = subparsers.add_parser(
        "best", help="show the best loss of a study",
        description="The best trial's loss as a readable formula, its value and trial number.",
    )
    add_study_arguments(p)
    p.set_defaults(handler=best_command)


def create_study_command(args: argparse.Namespace) -> int:
    from optuna_glo.runtime.spec import load_spec
    from optuna_glo.runtime.storage import redact
    from optuna_glo.runtime.study import create_study

    spec = load_spec(args.spec)
    create_study(spec, args.storage)
    print(
        f"Study {spec.name!r} ({spec.method} on {spec.study.task}, budget {spec.n_trials} "
        f"trials) is ready in {redact(args.storage)}.\n"
        f"Start workers with: optuna-glo worker --study {spec.name}{storage_flag(args)}"
    )
    return 0


def _work(args: argparse.Namespace, study_name: str, n_trials: int | None) -> None:
    from optuna_glo.runtime.worker import run_worker

    options = worker_options(
        args, n_trials=n_trials, device=args.device, data_dir=args.data_dir,
        download=args.download, progress=not args.no_progress,
        objective=_checkpointing_objective(args, study_name), **artifact_hooks(args),
    )
    summary = run_worker(study_name, args.storage, options)
    best = f"{summary.best_value:.4f}" if summary.best_value is not None else "none yet"
    print(
        f"This worker ran {summary.n_trials} trial(s) in {summary.seconds:.1f} s; the study's "
        f"best value is {best}."
    )


def _checkpointing_objective(args: argparse.Namespace, study_name: str) -> Any:
    """An EPBT or PBT study's objective with checkpoints in ``--artifact-dir`` (None: the
    spec's objective as the worker makes it, checkpoints beside the storage)."""
    if not getattr(args, "artifact_dir", None):
        return None
    from optuna_glo.runtime.methods import make_objective
    from optuna_glo.runtime.spec_population import POPULATION_METHODS
    from optuna_glo.runtime.study import load_study

    _, spec = load_study(study_name, args.storage, with_sampler=False)
    if spec.method not in POPULATION_METHODS:
        return None
    return make_objective(
        spec, device=args.device, data_dir=args.data_dir, download=args.download,
        artifact_dir=args.artifact_dir,
    )


def worker_command(args: argparse.Namespace) -> int:
    check_device(args)
    _work(args, args.study, args.n_trials)
    return 0


def run_command(args: argparse.Namespace) -> int:
    from optuna_glo.keys import BASELINE_ATTR
    from optuna_glo.runtime.artifacts import default_artifact_dir
    from optuna_glo.runtime.spec import load_spec
    from optuna_glo.runtime.spec_population import POPULATION_METHODS
    from optuna_glo.runtime.study import create_study, load_study, measure_baseline

    check_device(args)
    spec = load_spec(args.spec)
    create_study(spec, args.storage)
    _work(args, spec.name, None)
    study, _ = load_study(spec.name, args.storage, with_sampler=False)
    if spec.method in POPULATION_METHODS:
        from optuna_glo.runtime.population import gc_checkpoints

        gc_checkpoints(
            load_study(spec.name, args.storage)[0],
            args.artifact_dir or default_artifact_dir(args.storage),
        )
    if spec.method != "evaluate" and BASELINE_ATTR not in study.user_attrs:
        baseline = measure_baseline(
            spec, device=args.device, data_dir=args.data_dir, download=args.download
        )
        study.set_user_attr(BASELINE_ATTR, baseline)
    print()
    print(describe_best(spec.name, args.storage))
    from optuna_glo.runtime.storage import redact

    url = redact(args.storage)  # never print a password
    dashboard = f"optuna-dashboard {url}"
    if not args.no_artifacts:
        dashboard += f" --artifact-dir {args.artifact_dir or default_artifact_dir(args.storage)}"
    print(
        f"\nBrowse the study: {dashboard}\n"
        f"Show the best loss again: optuna-glo best --study {spec.name}{storage_flag(args)}"
    )
    return 0


def describe_best(study_name: str, storage_url: str) -> str:
    """The best trial's loss and value, next to the stored cross-entropy baseline.

    The formula is rendered from the loss read back from the trial (the one ``export`` writes),
    never the stored ``loss_formula`` text; every stored string is passed through
    :func:`~optuna_glo.cli._safe_text.printable`.
    """
    from optuna.trial import TrialState

    from optuna_glo.cli._population_best import describe_population
    from optuna_glo.keys import BASELINE_ATTR
    from optuna_glo.reports.dashboard import best_formula
    from optuna_glo.runtime.spec_population import POPULATION_METHODS
    from optuna_glo.runtime.study import load_study

    study, spec = load_study(study_name, storage_url, with_sampler=False)
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    lines = [
        f"Study {printable(study_name)!r}: {printable(spec.method)} on "
        f"{printable(spec.study.task)}, {len(complete)} of {spec.n_trials} trials complete."
    ]
    if not complete:
        lines.append("No completed trial yet: start a worker.")
        return "\n".join(lines)
    if spec.method == "evaluate":
        return "\n".join([*lines, *_summarize_comparison(complete)])
    if spec.method in POPULATION_METHODS:
        return "\n".join([*lines, *describe_population(study)])
    best = study.best_trial
    assert best.value is not None
    lines.append(f"Best loss: trial {best.number}, validation accuracy {best.value:.4f}")
    lines += [f"  {printable(line, limit=None)}" for line in best_formula(best).splitlines()]
    baseline = study.user_attrs.get(BASELINE_ATTR)
    if baseline is not None:
        lines.extend(_baseline_lines(baseline, best.value))
    return "\n".join(lines)


def _baseline_lines(baseline: Any, best_value: float) -> list[str]:
    """The stored cross-entropy baseline next to the best value (a malformed record: one line)."""
    try:
        value, lr = float(baseline["value"]), float(baseline["lr"])
        steps, seed = int(baseline["steps"]), int(baseline["seed"])
    except (TypeError, KeyError, ValueError, OverflowError):
        return ["Cross-entropy, trained the same way: the stored record is unreadable."]
    diff = best_value - value
    return [
        f"Cross-entropy, trained the same way (lr {lr:g}, {steps} steps, seed {seed}): "
        f"{value:.4f}",
        f"Difference: {diff:+.4f} ({'better' if diff > 0 else 'not better'} than "
        "cross-entropy on one partial training run each; repeated full-length runs with "
        "statistics are the real test).",
    ]


def _summarize_comparison(trials: list[Any]) -> list[str]:
    """Mean (std) accuracy per loss and length of an ``evaluate`` study."""
    import statistics

    groups: dict[tuple[str, int], list[float]] = {}
    for t in trials:
        groups.setdefault((t.params["loss"], t.params["steps"]), []).append(t.value)
    lines = ["loss                 steps    mean (std)         n"]
    for (loss, steps), values in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        lines.append(f"{printable(loss, limit=40):<20} {steps:<8} "
                     f"{statistics.mean(values):.4f} ({std:.4f})   {len(values)}")
    return lines


def best_command(args: argparse.Namespace) -> int:
    print(describe_best(args.study, args.storage))
    return 0
