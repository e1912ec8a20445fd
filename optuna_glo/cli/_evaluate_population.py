"""``evaluate`` on an EPBT or PBT study: the best schedule against its baselines (EPBT Table 2)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from optuna_glo.cli._arguments import artifact_dir, storage_flag

#: What ``--losses`` is when not given (the schedule evaluation takes no list of losses).
DEFAULT_LOSSES = "best,cross_entropy"


def check_population_args(args: argparse.Namespace) -> None:
    """The loss-evaluation flags that a schedule evaluation cannot honour are refused."""
    if args.losses != DEFAULT_LOSSES:
        raise ValueError(
            "`--losses` does not apply to an EPBT or PBT study: its best schedule is compared "
            "with cross-entropy (and `--against STUDY`). Leave `--losses` out."
        )
    for flag, value, default in (("--steps", args.steps, None),
                                 ("--data-portion", args.data_portion, 1.0),
                                 ("--eval-every", args.eval_every, None)):
        if value != default:
            raise ValueError(
                f"`{flag}` does not apply to an EPBT or PBT study: the schedule sets the length "
                "and the curve is read after each segment. Leave it out."
            )
    if args.population_batch != 1:
        raise ValueError(
            "`--population-batch` does not apply to an EPBT or PBT study: its schedules and "
            "cross-entropy rows train one at a time. Leave it out."
        )


def evaluate_population_command(
    args: argparse.Namespace, study: Any, spec: Any, factors: list[float], lr_cache: Path | None
) -> int:
    """Retrain the study's best schedule (and ``--against``'s) and compare, as EPBT Table 2."""
    from optuna_glo.keys import SCHEDULE_EVALUATION_ATTR
    from optuna_glo.reports.artifacts import store_evaluation
    from optuna_glo.reports.dashboard import update_study_note
    from optuna_glo.reports.evaluation import (
        best_schedule,
        evaluate_population,
        population_markdown,
    )
    from optuna_glo.runtime.spec_population import POPULATION_METHODS
    from optuna_glo.runtime.study import load_study

    check_population_args(args)
    where = {"device": args.device, "data_dir": args.data_dir, "download": args.download}
    trainer = _trainer(spec, where)
    schedule = best_schedule(study, spec, trainer, f"{spec.method.upper()} schedule")
    against = []
    if args.against is not None:
        other, other_spec = load_study(args.against, args.storage, with_sampler=False)
        if other_spec.method not in POPULATION_METHODS:
            raise ValueError(
                f"`--against` {args.against!r} is a {other_spec.method} study; give an EPBT or "
                "PBT study (its best schedule is retrained)."
            )
        other_trainer = _trainer(other_spec, where)
        label = f"{other_spec.method.upper()} schedule of {args.against}"
        against.append(best_schedule(other, other_spec, other_trainer, label))
    generations = spec.study.generations
    run_epochs = (generations or 0) * schedule.epochs_per_segment
    if schedule.epochs < run_epochs:
        print(
            f"The best individual's lineage trained {schedule.epochs:g} of the run's "
            f"{run_epochs:g} epochs (elites are carried over without training); cross-entropy "
            "trains as long as the lineage."
        )
    out = Path(args.out or Path("optuna-glo-evaluation") / args.study)
    results = out / "schedule-evaluation.jsonl"
    print(
        f"Evaluating {schedule.label}: {len(schedule.segments)} segment(s), {schedule.epochs:g} "
        f"epochs, retrained {args.repeats} times from scratch"
        + "".join(f", against {s.label}" for s in against)
        + f", and cross-entropy trained alone as long. Results: {results} (a rerun resumes)."
    )
    report = evaluate_population(
        schedule, against, results_path=results, repeats=args.repeats, data_dir=args.data_dir,
        download=args.download, tune_baseline_lr=args.tune_baseline_lr, lr_factors=factors,
        tune_repeats=args.tune_repeats, lr_cache=lr_cache, progress=not args.no_progress,
    )
    md = population_markdown(report, f"{schedule.label} against its baselines")
    out.mkdir(parents=True, exist_ok=True)
    table = out / "schedule-evaluation.md"
    table.write_text(md, encoding="utf-8")
    whole = out / "schedule-evaluation.json"
    whole.write_text(json.dumps({**report.to_dict(), "markdown": md}, indent=1), "utf-8")
    store_evaluation(study, {**report.summary(), "markdown": md}, key=SCHEDULE_EVALUATION_ATTR,
                     files=[whole, table], artifact_dir=artifact_dir(args))
    update_study_note(study, artifact_dir(args))
    print()
    print(md)
    print(
        f"{report.trained} training(s) run now, {report.reused} taken from {results}.\n"
        f"Tables: {table} and {whole}; stored in the study (artifacts in {artifact_dir(args)}, "
        f"a summary in user attr {SCHEDULE_EVALUATION_ATTR!r}, the dashboard note).\n"
        f"The schedule: optuna-glo best --study {args.study}{storage_flag(args)}"
    )
    return 0


def _trainer(spec: Any, where: dict[str, Any]) -> Any:
    """The segment trainer of a population study's objective (task, data, segment length)."""
    from optuna_glo.runtime.methods import make_objective
    from optuna_glo.runtime.population import PopulationObjective

    objective = make_objective(spec, **where)
    if not isinstance(objective, PopulationObjective):
        raise ValueError(f"Study {spec.name!r} is a {spec.method} study, not EPBT or PBT.")
    return objective.trainer
