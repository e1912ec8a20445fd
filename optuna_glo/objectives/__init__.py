"""Tasks (data set + model + recipe), training (one model or a model stack), the objectives."""

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
from optuna_glo.objectives._device import device_name, resolve_device
from optuna_glo.objectives._loop import DIVERGED_FITNESS, AbortRule, TrainResult
from optuna_glo.objectives._models import MLP, BasicCNN, count_parameters
from optuna_glo.objectives._objective import (
    CRN_MODES,
    FixedLossObjective,
    GenerationOf,
    LossSearchObjective,
    SuggestLoss,
    UntrainableReason,
    record_result,
    training_seed,
)
from optuna_glo.objectives._tasks import TASKS, Recipe, Task, get_task, register_task
from optuna_glo.objectives._training import accuracy, train
from optuna_glo.objectives.stack import (
    MemoryPlan,
    ModelStack,
    PathChoice,
    PathTiming,
    StackLoss,
    choose_path,
    measure_paths,
    plan_memory,
    train_candidates,
    train_stack,
    train_trials,
)

__all__ = [
    "CRN_MODES",
    "DATASETS",
    "DIVERGED_FITNESS",
    "MLP",
    "TASKS",
    "AbortRule",
    "BasicCNN",
    "DataUnavailableError",
    "DatasetInfo",
    "FixedLossObjective",
    "GenerationOf",
    "LossSearchObjective",
    "MemoryPlan",
    "ModelStack",
    "PathChoice",
    "PathTiming",
    "Recipe",
    "Splits",
    "StackLoss",
    "SuggestLoss",
    "Task",
    "TrainResult",
    "UntrainableReason",
    "accuracy",
    "choose_path",
    "count_parameters",
    "device_name",
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
    "train_candidates",
    "train_stack",
    "train_trials",
    "training_seed",
]
