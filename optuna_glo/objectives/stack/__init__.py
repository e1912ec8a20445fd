"""Training candidates together: ``k`` candidate losses, ``k`` models of one task, one model stack.

A candidate is a small model trained for a few hundred to a few thousand steps: far too little
work to fill a GPU. Here the ``k`` models of one generation share one architecture and are
trained in lockstep on the same batches (common random numbers) as one vectorized model, a
:class:`ModelStack` (stacked weights, ``vmap`` over ``functional_call``, one SGD), each with its
own loss on its slice of the logits (:class:`StackLoss`; all TaylorGLO thetas as one ``[k, P]``
tensor in one call). The stack trains in the same loop as a single model
(:func:`~optuna_glo.objectives._loop.train_loop`), under the same abort-and-retry rule.

What a member gets is what :func:`~optuna_glo.objectives.train` gives it one by one with the same
``seed`` and ``data_seed``, to float tolerance: the same initialisation (built under
``torch.manual_seed(seed)`` exactly as ``train`` builds it), the same batches and augmentations,
the same optimizer, learning-rate schedule, divergence rule and abort rule. One difference is
documented rather than hidden: dropout masks. Inside ``vmap`` (``randomness="different"``) every
member draws its own independent mask from one stream seeded by the stack's seeds, not from its own
seed's stream, so with dropout a member matches its one-by-one run in distribution, not bit for
bit. Reproducing the one-by-one masks would take one random draw per member per dropout layer and
give up the single batched kernel. The equivalence tests use dropout-free models (``digits-mlp``,
the basic CNN with dropout 0).

A task can decline the stack (``Task.vectorizable = False`` with a reason); it is then trained one
by one. A member whose loss or weights become NaN/inf leaves the stack at the next check (every
step on CPU, every 25 on GPU, as a single model), gets fitness 0 (GLO section III-A), and the others
train on. Stacking is not always faster, so :func:`train_candidates` measures both paths once per
device, task and ``k`` and remembers the faster (:func:`choose_path`), in stacks that fit the
device's memory (:func:`plan_memory`).
"""

from optuna_glo.objectives.stack._autotune import (
    AUTOTUNE_FILE,
    MIN_SPEEDUP,
    Measure,
    PathChoice,
    PathName,
    PathTiming,
    choose_path,
    measure_paths,
)
from optuna_glo.objectives.stack._loss import LossesOrThetas, StackLoss, as_losses
from optuna_glo.objectives.stack._memory import MemoryPlan, free_memory, plan_memory
from optuna_glo.objectives.stack._model import ModelStack
from optuna_glo.objectives.stack._segment import (
    SegmentMember,
    SegmentOutcome,
    SegmentStart,
    SegmentTrainer,
    fresh_weights,
    load_optimizer_state,
    train_segments,
    weights_digest,
)
from optuna_glo.objectives.stack._train import train_candidates, train_stack, train_trials

__all__ = [
    "AUTOTUNE_FILE",
    "MIN_SPEEDUP",
    "LossesOrThetas",
    "Measure",
    "MemoryPlan",
    "ModelStack",
    "PathChoice",
    "PathName",
    "PathTiming",
    "SegmentMember",
    "SegmentOutcome",
    "SegmentStart",
    "SegmentTrainer",
    "StackLoss",
    "as_losses",
    "choose_path",
    "free_memory",
    "fresh_weights",
    "load_optimizer_state",
    "measure_paths",
    "plan_memory",
    "train_candidates",
    "train_segments",
    "train_stack",
    "train_trials",
    "weights_digest",
]
