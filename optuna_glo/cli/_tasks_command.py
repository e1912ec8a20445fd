"""``tasks``: the task registry with data sources, parameter counts and data availability."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "tasks", help="list the tasks (data set, model size, data available here?)",
        description="List the registered tasks: data set and where it comes from, the model's "
        "parameter count, the recipe, and whether the data is on this machine.",
    )
    p.add_argument("--data-dir", default=None, help="where data sets are looked for")
    p.set_defaults(handler=tasks_command)


def tasks_command(args: argparse.Namespace) -> int:
    from optuna_glo.objectives import DATASETS, TASKS, count_parameters, resolve_data_dir

    data_dir = resolve_data_dir(args.data_dir)
    rows = [("task", "params", "data here", "recipe", "data source")]
    for name in sorted(TASKS):
        task = TASKS[name]
        info = DATASETS[task.dataset]
        r = task.recipe
        rows.append((
            name,
            f"{count_parameters(task.model()):,}",
            "yes" if info.is_available(data_dir) else "no",
            f"lr {r.lr:g}, batch {r.batch_size}, {r.partial_steps}/{r.full_steps} steps",
            info.source,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
    print(f"\nData directory: {data_dir}  (steps: per candidate / full run)")
    return 0
