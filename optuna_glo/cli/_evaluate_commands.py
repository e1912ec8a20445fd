"""``evaluate``, ``plot`` and ``export``."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from optuna_glo.cli._arguments import (
    add_artifact_dir_argument,
    add_study_arguments,
    add_training_arguments,
    artifact_dir,
    check_device,
    storage_flag,
)
from optuna_glo.cli._evaluate_population import DEFAULT_LOSSES, evaluate_population_command

#: Default output directory of ``evaluate`` (a subdirectory per study).
DEFAULT_EVALUATION_DIR = "optuna-glo-evaluation"
#: The baseline's learning-rate grid, as factors of the task's rate (``--lr-factors``).
DEFAULT_LR_FACTORS = "0.1,0.3,1,3,10,30,100"


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate", help="train the best loss and baselines to full length, with statistics",
        description="Train each loss --repeats times with different seeds on the study's task "
        "for the full training length and compare test accuracies as in TaylorGLO Table 1: mean "
        "(std) and one-tailed Welch t-tests against cross-entropy, plus cross-entropy at a "
        "learning rate tuned on the validation set (a best rate on the grid's edge extends the "
        "grid, at most twice; the search is cached for other studies). A study that searched "
        "the learning rate with its loss ([taylorglo] search_lr) is evaluated at the rate it "
        "found and also compared with cross-entropy whose rate was tuned with as many "
        "trainings of the same length over the same range. Seed r of every loss "
        "trains before seed r+1; every finished training is appended to a results file; a "
        "rerun resumes. The table is written as Markdown and CSV and stored in "
        "the study (user attr and optuna-dashboard note). On an EPBT or PBT study: the best "
        "individual's loss schedule retrained from scratch against cross-entropy trained as "
        "long (and --against a PBT study's best schedule), with epochs to exceed each baseline "
        "(EPBT Table 2).",
    )
    add_study_arguments(p)
    p.add_argument(
        "--losses", default=DEFAULT_LOSSES, metavar="LIST",
        help="comma-separated losses: best (the study's best trial), trial:N, a named loss "
        "(cross_entropy, baikal, baikal_cma, taylorglo_mnist) or a loss expression such as "
        "'log(y) - x / y' (default: best,cross_entropy; cross_entropy is always added)",
    )
    p.add_argument("--repeats", type=int, default=10, help="trainings per loss (default: 10)")
    p.add_argument(
        "--against", default=None, metavar="STUDY",
        help="for an EPBT study: also retrain this PBT (or EPBT) study's best schedule and "
        "compare (EPBT Table 2)",
    )
    p.add_argument(
        "--steps", type=int, default=None,
        help="training steps per run (default: the task's full training length)",
    )
    p.add_argument(
        "--data-portion", type=float, default=1.0, metavar="P",
        help="train on a fixed random portion P of the training set (GLO Fig. 4; default: 1)",
    )
    p.add_argument(
        "--tune-baseline-lr", action=argparse.BooleanOptionalAction, default=True,
        help="add cross-entropy at the best learning rate of a small log grid, chosen on the "
        "validation set, and for a study that searched the rate with its loss cross-entropy "
        "at a rate tuned with as many trainings over the same range (default: on)",
    )
    p.add_argument(
        "--lr-factors", default=DEFAULT_LR_FACTORS, metavar="LIST",
        help=f"the learning-rate grid as factors of the task's rate (default: "
        f"{DEFAULT_LR_FACTORS})",
    )
    p.add_argument(
        "--tune-repeats", type=int, default=2,
        help="seeds per learning rate in the search (default: 2)",
    )
    p.add_argument(
        "--no-lr-cache", action="store_true",
        help="neither read nor write the learning-rate search's cache, which keeps each "
        "search's trainings per task, length, data portion, rate and seed for other studies "
        "($XDG_CACHE_HOME/optuna-glo/lr-search.json, else ~/.cache/optuna-glo/)",
    )
    p.add_argument(
        "--population-batch", type=int, default=1, metavar="K",
        help="train up to K losses of one seed and learning rate together, as one model stack "
        "where this device measured it faster than one model after another (the results are "
        "the same to float tolerance; default: 1, one at a time)",
    )
    p.add_argument(
        "--eval-every", type=int, default=None, metavar="N",
        help="record test accuracy every N steps for the training curves (default: 20 points)",
    )
    p.add_argument(
        "--out", default=None, metavar="DIR",
        help=f"where results and tables go (default: {DEFAULT_EVALUATION_DIR}/STUDY)",
    )
    add_training_arguments(p)
    add_artifact_dir_argument(p)
    p.set_defaults(handler=evaluate_command)

    p = subparsers.add_parser(
        "plot", help="write PNG pictures of a study",
        description="Write PNGs: the best loss in the binary view beside cross-entropy (GLO Fig. "
        "6), the search's progress per generation (TaylorGLO Fig. 2), the best loss of each "
        "generation (TaylorGLO Fig. 3a), and the evaluate command's accuracy comparison and "
        "training curves when they exist. For EPBT and PBT: accuracy over epochs of the "
        "population's best and the best lineage (EPBT Fig. 2) and the lineage's losses (EPBT "
        "Fig. 5; for PBT over SGD its learning rate and momentum).",
    )
    add_study_arguments(p)
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the PNGs")
    add_artifact_dir_argument(p)
    p.set_defaults(handler=plot_command)

    p = subparsers.add_parser(
        "export", help="write the best loss as a standalone torch module",
        description="Write a Python module, depending on torch only, with FoundLoss: the best "
        "loss as a drop-in for torch.nn.CrossEntropyLoss. For EPBT: the best lineage's loss "
        "schedule, called as FoundLoss()(logits, labels, epoch).",
    )
    add_study_arguments(p)
    p.add_argument("--out", required=True, metavar="FILE.py", help="the module to write")
    p.add_argument(
        "--trial", type=int, default=None, metavar="N",
        help="export trial N instead of the best trial",
    )
    p.set_defaults(handler=export_command)


# ------------------------------------------------------------------------------------ commands


#: Most trainings per loss (``--repeats``, ``--tune-repeats``): each is a full-length run.
MAX_REPEATS = 1_000


def _floats(text: str, flag: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"`{flag}` must be comma-separated numbers. It is {text!r}.") from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"`{flag}` must be finite positive numbers. It is {text!r}.")
    return values


def _check_out(path: str | None, *, directory: bool) -> None:
    """``--out`` can be written: a directory (made if missing) or a file, as the command needs."""
    if path is None:
        return
    out = Path(path)
    if directory and out.exists() and not out.is_dir():
        raise ValueError(f"`--out` {path!r} is a file; give a directory (made if missing).")
    if not directory and out.is_dir():
        raise ValueError(f"`--out` {path!r} is a directory; give the module's file name.")


def _check_count(flag: str, value: int | None, high: int) -> None:
    """``value`` is ``None`` or a whole number in ``[1, high]``."""
    if value is not None and not 1 <= value <= high:
        raise ValueError(f"`{flag}` must be >= 1 and <= {high:,}. It is {value}.")


def _check_evaluate_args(args: argparse.Namespace) -> list[float]:
    """Check every number ``evaluate`` was given; the learning-rate factors."""
    from optuna_glo.keys import MAX_STEPS

    check_device(args)
    _check_out(args.out, directory=True)
    _check_count("--repeats", args.repeats, MAX_REPEATS)
    _check_count("--tune-repeats", args.tune_repeats, MAX_REPEATS)
    _check_count("--population-batch", args.population_batch, MAX_REPEATS)
    _check_count("--steps", args.steps, MAX_STEPS)
    _check_count("--eval-every", args.eval_every, MAX_STEPS)
    if not 0.0 < args.data_portion <= 1.0:  # also refuses nan
        raise ValueError(f"`--data-portion` must be in (0, 1]. It is {args.data_portion}.")
    return _floats(args.lr_factors, "--lr-factors")


def _lr_budget(study: Any, spec: Any, task: Any) -> Any:
    """For a study that searched the learning rate with its loss (``[taylorglo] search_lr``):
    its range, its trainings (completed trials) and their length; else ``None``."""
    from optuna.trial import TrialState

    from optuna_glo.reports.evaluation import LRBudget

    searched = getattr(spec.method_settings, "search_lr", None)
    if searched is None:
        return None
    done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if done < 2:
        print(
            f"The study searched the learning rate but has {done} completed trial(s): "
            "cross-entropy's rate is not tuned with its budget (at least 2 are needed)."
        )
        return None
    steps = spec.training.steps or task.recipe.partial_steps
    return LRBudget(searched.low, searched.high, done, steps)


def _check_has_best(study: Any, names: list[str]) -> None:
    """``best`` names a completed trial: else a one-line hint on what to do instead."""
    from optuna.trial import TrialState

    if "best" in (n.strip() for n in names) and not study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE,)
    ):
        raise ValueError(
            f"Study {study.study_name!r} has no completed trial, so `--losses best` has no loss "
            "to evaluate: run a worker first (optuna-glo launch or run), or name losses, e.g. "
            "--losses cross_entropy,baikal."
        )


def evaluate_command(args: argparse.Namespace) -> int:
    from optuna_glo.reports.artifacts import evaluation_attr, store_evaluation
    from optuna_glo.reports.dashboard import update_study_note
    from optuna_glo.reports.evaluation import (
        BASELINE,
        Candidate,
        default_lr_cache_path,
        evaluate_losses,
        markdown_table,
        write_tables,
    )
    from optuna_glo.runtime.methods import make_objective
    from optuna_glo.runtime.spec_population import POPULATION_METHODS
    from optuna_glo.runtime.study import load_study
    from optuna_glo.suggest import resolve_loss, resolve_trial, trial_lr

    factors = _check_evaluate_args(args)
    study, spec = load_study(args.study, args.storage, with_sampler=False)
    lr_cache = None if args.no_lr_cache else default_lr_cache_path()
    if spec.method in POPULATION_METHODS:
        return evaluate_population_command(args, study, spec, factors, lr_cache)
    if args.against is not None:
        raise ValueError(
            f"`--against` compares EPBT and PBT schedules; study {args.study!r} is a "
            f"{spec.method} study. Leave `--against` out."
        )
    task = make_objective(spec).task
    names = [n for n in args.losses.split(",") if n.strip()]
    _check_has_best(study, names)
    if BASELINE not in [n.strip() for n in names]:
        names.append(BASELINE)
    candidates = []
    for name in names:
        label, loss = resolve_loss(name, study)
        trial = resolve_trial(name, study)
        lr = trial_lr(trial) if trial is not None else None  # found with the loss (12.4)
        candidates.append(Candidate(label, loss, lr or task.recipe.lr))
    lr_budget = _lr_budget(study, spec, task) if args.tune_baseline_lr else None
    out = Path(args.out or Path(DEFAULT_EVALUATION_DIR) / args.study)
    stem = "evaluation" if args.data_portion == 1.0 else f"evaluation-portion{args.data_portion:g}"
    results = out / f"{stem}.jsonl"
    steps = args.steps or task.recipe.full_steps
    print(
        f"Evaluating {len(candidates)} loss(es) on {task.name}: {args.repeats} runs x {steps:,} "
        f"steps each, lr {task.recipe.lr:g}"
        + ("" if args.data_portion == 1.0 else f", {args.data_portion:g} of the training data")
        + f". Results: {results} (a rerun resumes)."
    )
    report = evaluate_losses(
        task, candidates, results_path=results, repeats=args.repeats, steps=steps,
        data_portion=args.data_portion, device=args.device, data_dir=args.data_dir,
        download=args.download, tune_baseline_lr=args.tune_baseline_lr, lr_factors=factors,
        tune_repeats=args.tune_repeats, eval_every=args.eval_every,
        progress=not args.no_progress, lr_cache=lr_cache, lr_budget=lr_budget,
        population_batch=args.population_batch,
    )
    md, cs = write_tables(report, out, stem)
    stored = {**report.to_dict(), "markdown": markdown_table(report)}
    whole = out / f"{stem}.json"
    whole.write_text(json.dumps(stored, indent=1), encoding="utf-8")
    files = [whole, md, cs, out / f"{stem}-curves.csv"]
    store_evaluation(study, stored, key=evaluation_attr(args.data_portion), files=files,
                     artifact_dir=artifact_dir(args))
    update_study_note(study, artifact_dir(args))
    print()
    print(stored["markdown"])
    print(
        f"{report.trained} training(s) run now, {report.reused} taken from {results}.\n"
        f"Tables: {md} and {cs}; stored in the study (artifacts in {artifact_dir(args)}, a "
        f"summary in user attr {evaluation_attr(args.data_portion)!r}, the dashboard note).\n"
        f"Pictures: optuna-glo plot --study {args.study}{storage_flag(args)} --out DIR"
    )
    return 0


def plot_command(args: argparse.Namespace) -> int:
    _check_out(args.out, directory=True)
    import matplotlib

    matplotlib.use("Agg")
    from optuna_glo.reports.plots import plot_study
    from optuna_glo.runtime.study import load_study

    study, spec = load_study(args.study, args.storage, with_sampler=False)
    paths = plot_study(study, args.out, population_size=spec.population_size,
                       artifact_dir=artifact_dir(args))
    for path in paths:
        print(path)
    return 0


def export_command(args: argparse.Namespace) -> int:
    from optuna_glo.reports.export import export_study
    from optuna_glo.reports.lineage import is_population_study
    from optuna_glo.runtime.study import load_study

    _check_out(args.out, directory=False)
    study, _ = load_study(args.study, args.storage, with_sampler=False)
    path = export_study(study, args.out, trial_number=args.trial)
    print(f"Wrote {path}. Use it instead of torch.nn.CrossEntropyLoss:\n"
          f"    from {path.stem} import FoundLoss\n"
          f"    criterion = FoundLoss()")
    if is_population_study(study):  # the loss changes by epoch (EPBT section 5)
        print("    loss = criterion(outputs, labels, epoch)   # epoch of the population's schedule")
    return 0
