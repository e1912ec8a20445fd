"""Tasks (data set + model + recipe), partial training and the loss-search objectives."""

from optuna_glo.objectives import _cifar_tasks  # noqa: F401  (registers CIFAR-10 / SVHN tasks)
from optuna_glo.objectives._data import (
    DATASETS,
    DatasetInfo,
    DataUnavailableError,
    Splits,
    load_dataset,
    register_dataset,
    resolve_data_dir,
)
from optuna_glo.objectives._models import MLP, BasicCNN, count_parameters
from optuna_glo.objectives._objective import (
    FixedLossObjective,
    LossSearchObjective,
    SuggestLoss,
    UntrainableReason,
    record_result,
    training_seed,
)
from optuna_glo.objectives._population import (
    PathChoice,
    PathTiming,
    choose_path,
    evaluate_population,
    evaluate_trials,
    measure_paths,
    plan_memory,
)
from optuna_glo.objectives._tasks import TASKS, Recipe, Task, get_task, register_task
from optuna_glo.objectives._training import (
    DIVERGED_FITNESS,
    AbortRule,
    TrainResult,
    accuracy,
    resolve_device,
    train,
)

__all__ = [
    "DATASETS",
    "DIVERGED_FITNESS",
    "MLP",
    "TASKS",
    "AbortRule",
    "BasicCNN",
    "DataUnavailableError",
    "DatasetInfo",
    "FixedLossObjective",
    "LossSearchObjective",
    "PathChoice",
    "PathTiming",
    "Recipe",
    "Splits",
    "SuggestLoss",
    "Task",
    "TrainResult",
    "UntrainableReason",
    "accuracy",
    "choose_path",
    "count_parameters",
    "evaluate_population",
    "evaluate_trials",
    "get_task",
    "load_dataset",
    "measure_paths",
    "plan_memory",
    "record_result",
    "register_dataset",
    "register_task",
    "resolve_data_dir",
    "resolve_device",
    "train",
    "training_seed",
]
