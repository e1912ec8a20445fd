"""Search quality: does CMA-ES find better losses than random search and TPE, and do they survive?

    python benchmarks/search_quality.py [--tasks digits-mlp,mnist5k-mlp,fashion-mnist-mlp]
        [--seeds 5] [--budget 448] [--fresh-seeds 10] [--steps N] [--full-steps N]
        [--json FILE] [--readme benchmarks/README.md]

For each task and sampler seed, four searches of the same budget (``--budget`` candidates in
generations of lambda = 28, TaylorGLO section 5) look for a third-order TaylorGLO loss: CMA-ES as
TaylorGLO runs it (``optuna_glo.samplers.taylorglo_sampler``) in each form (``"code"``, the
authors' code, and ``"eq5"``, as printed), Optuna's ``RandomSampler`` and ``TPESampler`` (both in
the default form). Every search trains its candidates exactly as a study does
(``objectives.train_trials``: the authors' invariant check, collapsed runs at 0, common random
numbers per generation; random search and TPE get the same generations of 28), on the vectorized
stack trainer, with in-memory Optuna storage.

Each search's winner is then trained at full length on ``--fresh-seeds`` seeds never used in a
search (``reports.evaluation.EVAL_SEED_BASE + r``), against cross-entropy at a learning rate
tuned on the validation set (the task's rate times 1/3, 1 and 3, on seeds
``TUNE_SEED_BASE + r``); the p-value is the one-tailed Welch test of ``reports.evaluation``.
Writes every figure as JSON and, with ``--readme``, the Markdown table between the markers
``<!-- search-quality -->`` ... ``<!-- /search-quality -->``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import torch

from optuna_glo.losses import CrossEntropy, TaylorGLOLoss, invariant_violation
from optuna_glo.objectives import (
    LossSearchObjective,
    get_task,
    load_dataset,
    train_candidates,
    train_trials,
)
from optuna_glo.reports.evaluation import (
    EVAL_SEED_BASE,
    TUNE_SEED_BASE,
    lr_grid,
    summarize,
    welch_greater,
)
from optuna_glo.samplers import taylorglo_sampler
from optuna_glo.suggest import suggest_taylor_loss

POPULATION = 28  # TaylorGLO section 5 (MNIST)
BOUND = 20.0
TUNE_FACTORS = (1 / 3, 1.0, 3.0)
METHODS = ("cmaes-code", "cmaes-eq5", "random", "tpe")
#: Also measurable (``--methods``): CMA-ES in the code form with common random numbers per study
#: (every candidate one seed) instead of per generation (issue 12, 2a: does the winner hold?).
EXTRA_METHODS = ("cmaes-code-study-crn",)
MARKER, END_MARKER = "<!-- search-quality -->", "<!-- /search-quality -->"


def _sampler(method: str, seed: int) -> optuna.samplers.BaseSampler:
    if method.startswith("cmaes"):
        return taylorglo_sampler(population_size=POPULATION, bounds=(-BOUND, BOUND), seed=seed)
    if method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _untrainable(loss: torch.nn.Module, n_classes: int) -> str | None:
    return invariant_violation(loss, n_classes) if isinstance(loss, TaylorGLOLoss) else None


#: Seeds of the re-scoring of a search's top candidates (``--rescore-top``): apart from the
#: search's own (its generations') and from the fresh seeds of the final comparison.
RESCORE_SEED_BASE = 20_000


def search(
    task_name: str, method: str, seed: int, budget: int, steps: int | None,
    rescore_top: int = 0, rescore_seeds: int = 3,
) -> dict[str, Any]:
    """One search: its winner's theta and validation accuracy.

    The winner is the best trial; with ``rescore_top`` M > 0, the M best trials are trained again
    at the search's length on ``rescore_seeds`` new seeds, and the winner is the one with the
    best mean validation accuracy over those and its search score (a best-of-N pick on one seed
    per candidate overrates lucky losses).
    """
    form = "eq5" if method == "cmaes-eq5" else "code"
    crn = "study" if method.endswith("study-crn") else "generation"
    objective = LossSearchObjective(
        get_task(task_name),
        lambda trial: suggest_taylor_loss(trial, 3, low=-BOUND, high=BOUND, form=form),
        steps=steps, seed=seed, common_random_numbers=crn,
        # The same generations for every sampler: trial n belongs to generation n // 28.
        generation_of=lambda trial: trial.number // POPULATION,
        untrainable_reason=_untrainable, device="cpu",
    )
    # No pruner (create_study's default is a MedianPruner): every candidate trains its steps,
    # as in a study made from a spec without a [pruner] table.
    study = optuna.create_study(
        direction="maximize", sampler=_sampler(method, seed), pruner=optuna.pruners.NopPruner()
    )
    start = time.perf_counter()
    for _ in range(0, budget, POPULATION):
        trials = [study.ask() for _ in range(min(POPULATION, budget - len(study.trials)))]
        for trial, value in zip(trials, train_trials(objective, trials), strict=True):
            if isinstance(value, optuna.TrialPruned):
                raise RuntimeError(f"trial {trial.number} was pruned without a pruner: {value}")
            study.tell(trial, value)
    best = study.best_trial
    result: dict[str, Any] = {
        "task": task_name, "method": method, "seed": seed, "form": form, "crn": crn,
        "best_val": best.value, "best_number": best.number,
        "theta": [best.params[f"taylor_theta_{i}"] for i in range(8)],
    }
    if rescore_top > 0:
        result.update(_rescore(task_name, study, form, rescore_top, rescore_seeds, steps))
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def _rescore(
    task_name: str, study: optuna.Study, form: str, top: int, seeds: int, steps: int | None
) -> dict[str, Any]:
    """The winner among the ``top`` best trials by mean validation accuracy over ``seeds`` new
    seeds and the search's own score."""
    done = [t for t in study.trials if t.value is not None and t.value > 0]
    ranked = sorted(done, key=lambda t: (-float(t.value), t.number))[:top]  # type: ignore[arg-type]
    if not ranked:
        return {}
    task = get_task(task_name)
    thetas = [[t.params[f"taylor_theta_{i}"] for i in range(8)] for t in ranked]
    losses: list[torch.nn.Module] = [TaylorGLOLoss(torch.tensor(th), form=form) for th in thetas]
    accs = _test_accuracies(
        task_name, losses, task.recipe.lr, [RESCORE_SEED_BASE + r for r in range(seeds)],
        steps or task.recipe.partial_steps, split="val",
    )
    means = [statistics.fmean([float(t.value), *a]) for t, a in zip(ranked, accs, strict=True)]  # type: ignore[arg-type]
    i = max(range(len(ranked)), key=lambda j: (means[j], -ranked[j].number))
    return {"theta": thetas[i], "winner_number": ranked[i].number, "winner_mean_val": means[i],
            "rescored": [[t.number, m] for t, m in zip(ranked, means, strict=True)]}


def _test_accuracies(
    task_name: str, losses: list[torch.nn.Module], lr: float, seeds: list[int], steps: int | None,
    split: str = "test",
) -> list[list[float]]:
    """``[loss][seed]`` accuracies at full length; all losses of one seed train as one stack."""
    task = get_task(task_name)
    task = task.with_recipe(lr=lr) if lr != task.recipe.lr else task
    data = load_dataset(task.dataset)
    out: list[list[float]] = [[] for _ in losses]
    for s in seeds:
        results = train_candidates(
            task, losses, [s] * len(losses), steps=steps or task.recipe.full_steps, data_seed=s,
            data=data, evaluate_test=split == "test",
        )
        for i, r in enumerate(results):
            acc = r.test_accuracy if split == "test" else r.val_accuracy
            out[i].append(0.0 if r.diverged or acc is None else float(acc))
    return out


def survive(task_name: str, searches: list[dict[str, Any]], fresh: int, full_steps: int | None,
            tune_seeds: int = 2) -> dict[str, Any]:
    """Every winner at full length on fresh seeds, against cross-entropy at its tuned rate."""
    task = get_task(task_name)
    grid = lr_grid(task.recipe.lr, TUNE_FACTORS)
    tune = [TUNE_SEED_BASE + r for r in range(tune_seeds)]
    val = {lr: statistics.fmean(_test_accuracies(task_name, [CrossEntropy()], lr, tune,
                                                  full_steps, split="val")[0]) for lr in grid}
    best_lr = max(grid, key=val.__getitem__)
    seeds = [EVAL_SEED_BASE + r for r in range(fresh)]
    ce = _test_accuracies(task_name, [CrossEntropy()], best_lr, seeds, full_steps)[0]
    losses: list[torch.nn.Module] = [
        TaylorGLOLoss(torch.tensor(s["theta"]), form=s["form"]) for s in searches
    ]
    accs = _test_accuracies(task_name, losses, task.recipe.lr, seeds, full_steps)
    for s, a in zip(searches, accs, strict=True):
        s["fresh_test"] = a
        s["p_vs_tuned_ce"] = welch_greater(a, ce)
    return {"lr_grid_val": [[lr, val[lr]] for lr in grid], "tuned_lr": best_lr, "ce_test": ce,
            "lr_on_edge": best_lr in (grid[0], grid[-1])}


def _table(results: dict[str, Any]) -> str:
    lines = [
        "| task | method | best val. acc. over seeds, mean (sd) | winners' fresh test acc. "
        "(mean of means) | best winner vs tuned CE: test acc., one-tailed Welch p |",
        "|---|---|---|---|---|",
    ]
    for task_name, t in results["tasks"].items():
        ce = summarize(t["baseline"]["ce_test"])
        for method in (*METHODS, *EXTRA_METHODS):
            runs = [s for s in t["searches"] if s["method"] == method]
            if not runs:
                continue
            vals = summarize([s["best_val"] for s in runs])
            fresh = statistics.fmean(statistics.fmean(s["fresh_test"]) for s in runs)
            top = max(runs, key=lambda s: statistics.fmean(s["fresh_test"]))
            lines.append(
                f"| {task_name} | {method} | {vals.mean:.4f} ({vals.std:.4f}) | {fresh:.4f} | "
                f"{statistics.fmean(top['fresh_test']):.4f} vs {ce.mean:.4f} "
                f"(lr {t['baseline']['tuned_lr']:g}), p = {top['p_vs_tuned_ce']:.3g} |"
            )
    return "\n".join(lines)


def _write_readme(path: Path, block: str) -> None:
    text = path.read_text()
    if MARKER in text and END_MARKER in text:
        head, rest = text.split(MARKER, 1)
        text = head + MARKER + "\n" + block + "\n" + END_MARKER + rest.split(END_MARKER, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + MARKER + "\n" + block + "\n" + END_MARKER + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None, log: Callable[[str], object] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="digits-mlp,mnist5k-mlp,fashion-mnist-mlp")
    parser.add_argument("--seeds", type=int, default=5, help="sampler seeds per method")
    parser.add_argument("--budget", type=int, default=448, help="candidates per search")
    parser.add_argument("--fresh-seeds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=None, help="partial steps (task's)")
    parser.add_argument("--full-steps", type=int, default=None, help="full length (task's)")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated, of {', '.join((*METHODS, *EXTRA_METHODS))}")
    parser.add_argument("--rescore-top", type=int, default=0, metavar="M",
                        help="pick each search's winner among its M best trials by mean "
                        "validation accuracy over --rescore-seeds new seeds (0: the best trial)")
    parser.add_argument("--rescore-seeds", type=int, default=3)
    parser.add_argument("--json", default="benchmarks/search_quality.json")
    parser.add_argument("--readme", default=None, help="write the table into this README")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    methods = args.methods.split(",")
    unknown = sorted(set(methods) - {*METHODS, *EXTRA_METHODS})
    if unknown:
        parser.error(f"--methods: unknown {', '.join(unknown)}; choose from "
                     f"{', '.join((*METHODS, *EXTRA_METHODS))}.")
    for name in ("seeds", "budget", "fresh_seeds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}.")
    results: dict[str, Any] = {
        "args": vars(args), "host": platform.node(), "threads": torch.get_num_threads(),
        "tasks": {},
    }
    for task_name in args.tasks.split(","):
        searches = []
        for seed in range(args.seeds):
            for method in methods:
                s = search(task_name, method, seed, args.budget, args.steps,
                           args.rescore_top, args.rescore_seeds)
                log(f"{task_name} {method} seed {seed}: best val {s['best_val']:.4f} "
                    f"({s['seconds']} s)")
                searches.append(s)
        baseline = survive(task_name, searches, args.fresh_seeds, args.full_steps)
        log(f"{task_name}: tuned CE lr {baseline['tuned_lr']:g}, fresh test "
            f"{statistics.fmean(baseline['ce_test']):.4f}")
        results["tasks"][task_name] = {"searches": searches, "baseline": baseline}
        Path(args.json).write_text(json.dumps(results, indent=1))
    table = _table(results)
    log(table)
    if args.readme:
        _write_readme(Path(args.readme), table)


if __name__ == "__main__":
    main()
