"""A short GLO loss-discovery run on `digits-mlp`: when does a tree beat cross-entropy?

    python benchmarks/glo_digits_gp.py [--population 20] [--elites 2] [--generations 6]
                                       [--seed 0] [--storage sqlite:///glo-digits.db]

Every candidate trains with the task's recipe (lr 1.0, tuned for cross-entropy; 300 steps) and the
same training seed (common random numbers), so cross-entropy at that seed is the bar. Prints each
trained candidate, the first trial whose tree beats cross-entropy's validation accuracy, and a
re-check of the best trees on four more seeds beside cross-entropy on the same seeds.
"""

from __future__ import annotations

import argparse
import statistics
import time

import optuna

import optuna_glo
from optuna_glo.losses import CrossEntropy
from optuna_glo.losses.trees import TreeLoss, canonical_key, parse
from optuna_glo.objectives import get_task, load_dataset, train
from optuna_glo.samplers import GeneticProgrammingSampler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--elites", type=int, default=2)
    parser.add_argument("--generations", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--storage", default=None)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task, data = get_task("digits-mlp"), load_dataset("digits")

    baseline = train(task, CrossEntropy(), seed=args.seed, data=data).value
    print(f"cross-entropy, lr {task.recipe.lr}, seed {args.seed}: val {baseline:.4f}", flush=True)

    def objective(trial: optuna.Trial) -> float:
        loss = optuna_glo.suggest_loss_tree(trial)
        if loss.cached_value is not None:
            return loss.cached_value
        start = time.perf_counter()
        value = train(task, loss, seed=args.seed, data=data).value
        mark = "  beats CE" if value > baseline else ""
        print(f"trial {trial.number:4d}  val {value:.4f}  {time.perf_counter() - start:5.1f}s  "
              f"{loss.text}{mark}", flush=True)
        return value

    sampler = GeneticProgrammingSampler(
        population_size=args.population, n_elites=args.elites, seed=args.seed
    )
    study = optuna.create_study(storage=args.storage, direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=args.population * args.generations)

    trials = [t for t in study.trials if t.value is not None]
    trained = [t for t in trials if "loss_cached_from" not in t.user_attrs
               and "loss_untrainable" not in t.user_attrs]
    first = next((t for t in trials if t.value > baseline), None)
    print(f"\n{len(trials)} trials, {len(trained)} trained, "
          f"{len({t.system_attrs['GeneticProgrammingSampler:canonical'] for t in trials})} "
          f"distinct canonical trees")
    if first is None:
        print(f"no tree beat cross-entropy's {baseline:.4f}")
    else:
        print(f"first tree above cross-entropy: trial {first.number} "
              f"({first.user_attrs['loss_tree']}, val {first.value:.4f})")

    best: list[optuna.trial.FrozenTrial] = []
    for t in sorted(trials, key=lambda t: -t.value):
        key = canonical_key(parse(t.user_attrs["loss_tree"]))
        if key not in {canonical_key(parse(b.user_attrs["loss_tree"])) for b in best}:
            best.append(t)
        if len(best) == 3:
            break
    seeds = [args.seed + k for k in range(1, 5)]
    ce = [train(task, CrossEntropy(), seed=s, data=data).value for s in seeds]
    print(f"\nre-check on seeds {seeds}: cross-entropy {statistics.mean(ce):.4f} {ce}")
    for t in best:
        values = [train(task, TreeLoss(t.user_attrs["loss_tree"]), seed=s, data=data).value
                  for s in seeds]
        print(f"  {statistics.mean(values):.4f} {values}  {t.user_attrs['loss_tree']} "
              f"(trial {t.number}, search val {t.value:.4f})")


if __name__ == "__main__":
    main()
