"""Proving a found loss: full-length evaluation with statistics.

* :func:`evaluate_losses`: each loss trained ``repeats`` times to full length, test accuracy as
  mean (std) with one-tailed Welch t-tests against cross-entropy (TaylorGLO Table 1), including a
  learning-rate-tuned cross-entropy (and, for a study that searched the rate with its loss,
  cross-entropy whose rate was tuned with as many trainings); results are appended to a file as
  each training finishes;
* :func:`evaluate_population`: an EPBT run's best schedule retrained from scratch against
  cross-entropy trained as long and PBT's best schedule (EPBT Table 2: epochs to exceed);

scipy and matplotlib are imported only where they are used.
"""

from optuna_glo.reports.evaluation._evaluate import EVAL_SEED_BASE, evaluate_losses
from optuna_glo.reports.evaluation._lr_cache import LRCache, default_lr_cache_path
from optuna_glo.reports.evaluation._lr_search import (
    LR_GRID_FACTORS,
    MAX_GRID_EXTENSIONS,
    TUNE_SEED_BASE,
    lr_grid,
)
from optuna_glo.reports.evaluation._population import (
    MethodRow,
    PopulationReport,
    compare_to_schedule,
    evaluate_population,
    population_markdown,
)
from optuna_glo.reports.evaluation._results import ResultsFile, run_key
from optuna_glo.reports.evaluation._rows import (
    BASELINE,
    TUNED_BASELINE,
    Candidate,
    EvaluationReport,
    LRBudget,
    LRSearch,
    Row,
    budget_label,
)
from optuna_glo.reports.evaluation._schedule_runs import (
    Schedule,
    ScheduleSegment,
    best_schedule,
    retrain_schedules,
)
from optuna_glo.reports.evaluation._stats import Summary, format_p, summarize, welch_greater
from optuna_glo.reports.evaluation._table import csv_table, curves_csv, markdown_table, write_tables

__all__ = [
    "BASELINE",
    "EVAL_SEED_BASE",
    "LR_GRID_FACTORS",
    "MAX_GRID_EXTENSIONS",
    "TUNED_BASELINE",
    "TUNE_SEED_BASE",
    "Candidate",
    "EvaluationReport",
    "LRBudget",
    "LRCache",
    "LRSearch",
    "MethodRow",
    "PopulationReport",
    "ResultsFile",
    "Row",
    "Schedule",
    "ScheduleSegment",
    "Summary",
    "best_schedule",
    "budget_label",
    "compare_to_schedule",
    "csv_table",
    "curves_csv",
    "default_lr_cache_path",
    "evaluate_losses",
    "evaluate_population",
    "format_p",
    "lr_grid",
    "markdown_table",
    "population_markdown",
    "retrain_schedules",
    "run_key",
    "summarize",
    "welch_greater",
    "write_tables",
]
