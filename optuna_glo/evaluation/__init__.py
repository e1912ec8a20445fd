"""Proving a found loss: full-length evaluation with statistics, and the study's dashboard views.

* :func:`load_loss`: the loss of a trial, or of a study's best trial;
* :func:`evaluate_losses`: each loss trained ``repeats`` times to full length, test accuracy as
  mean (std) with one-tailed Welch t-tests against cross-entropy (TaylorGLO Table 1), including a
  learning-rate-tuned cross-entropy; results are appended to a file as each training finishes;
* :class:`LossShapeArtifacts`: a loss-shape PNG artifact per trial and a study note for
  optuna-dashboard.

scipy and matplotlib are imported only where they are used.
"""

from optuna_glo.evaluation._dashboard import (
    DEFAULT_ARTIFACT_DIR,
    EVALUATION_ATTR,
    LossShapeArtifacts,
    default_artifact_dir,
    evaluation_attr,
    list_trial_artifacts,
    readable_math,
    study_note,
    update_study_note,
)
from optuna_glo.evaluation._load import (
    LOSS_READERS,
    LossReader,
    best_trial,
    load_loss,
    read_taylor_loss,
    read_tree_loss,
    resolve_loss,
)
from optuna_glo.evaluation._runner import (
    BASELINE,
    EVAL_SEED_BASE,
    LR_GRID_FACTORS,
    TUNE_SEED_BASE,
    TUNED_BASELINE,
    Candidate,
    EvaluationReport,
    LRSearch,
    ResultsFile,
    Row,
    evaluate_losses,
    lr_grid,
    run_key,
)
from optuna_glo.evaluation._stats import Summary, format_p, summarize, welch_greater
from optuna_glo.evaluation._table import csv_table, curves_csv, markdown_table, write_tables

__all__ = [
    "BASELINE",
    "DEFAULT_ARTIFACT_DIR",
    "EVALUATION_ATTR",
    "EVAL_SEED_BASE",
    "LOSS_READERS",
    "LR_GRID_FACTORS",
    "TUNED_BASELINE",
    "TUNE_SEED_BASE",
    "Candidate",
    "EvaluationReport",
    "LRSearch",
    "LossReader",
    "LossShapeArtifacts",
    "ResultsFile",
    "Row",
    "Summary",
    "best_trial",
    "csv_table",
    "curves_csv",
    "default_artifact_dir",
    "evaluate_losses",
    "evaluation_attr",
    "format_p",
    "list_trial_artifacts",
    "load_loss",
    "lr_grid",
    "markdown_table",
    "read_taylor_loss",
    "read_tree_loss",
    "readable_math",
    "resolve_loss",
    "run_key",
    "study_note",
    "summarize",
    "update_study_note",
    "welch_greater",
    "write_tables",
]
