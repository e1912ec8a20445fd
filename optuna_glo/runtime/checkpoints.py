"""Population checkpoints: an individual's weights, optimizer state, age and hyperparameters,
stored as an Optuna artifact of the trial that trained them.

A checkpoint is ``torch.save`` of a plain dict ``{model, optimizer, epoch, step, params,
trial}`` and is read back with ``torch.load(..., weights_only=True)`` (tensors and plain data
only, no pickled code). The weights and the hyperparameters they were trained with travel in one
file and are checked together when a child inherits them: the checkpoint's ``params`` must equal
the parent trial's stored params (Ray Tune's PBT once restored one member's weights with another
member's config). Checkpoints of trials that can no longer be a parent
(``individuals_alive`` of the sampler) are deleted by :func:`collect_garbage`, so the disk holds
O(population) checkpoints, not O(trials).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.artifacts import download_artifact, get_all_artifact_meta, upload_artifact
from optuna.artifacts.exceptions import ArtifactNotFound
from optuna.trial import FrozenTrial, TrialState

#: Mimetype of a checkpoint artifact.
CHECKPOINT_MIMETYPE = "application/x-pytorch"
_PREFIX, _SUFFIX = "checkpoint-trial-", ".pt"
_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or does not match its trial."""


@dataclass(frozen=True)
class Checkpoint:
    """What a trial's segment left for its children.

    Attributes:
        model: The final weights (a ``task.model()`` state dict).
        optimizer: The optimizer's ``state_dict()``, or ``None`` (none yet).
        epoch: Epochs these weights have trained, over their whole lineage.
        step: Steps these weights have trained, over their whole lineage.
        params: The trial's Optuna params: the hyperparameters the weights trained with.
        trial: The number of the trial that trained them.
    """

    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any] | None
    epoch: float
    step: int
    params: dict[str, float]
    trial: int


def checkpoint_filename(number: int) -> str:
    """The artifact file name of trial ``number``'s checkpoint."""
    return f"{_PREFIX}{number}{_SUFFIX}"


def save_checkpoint(trial: optuna.Trial, store: Any, checkpoint: Checkpoint) -> str:
    """Upload ``checkpoint`` as an artifact of the running ``trial``; returns its artifact id."""
    data = {
        "model": checkpoint.model, "optimizer": checkpoint.optimizer,
        "epoch": float(checkpoint.epoch), "step": int(checkpoint.step),
        "params": dict(checkpoint.params), "trial": int(checkpoint.trial),
    }
    with tempfile.TemporaryDirectory(prefix="optuna-glo-checkpoint-") as tmp:
        path = Path(tmp) / checkpoint_filename(trial.number)
        torch.save(data, path)
        return upload_artifact(
            artifact_store=store, file_path=str(path), study_or_trial=trial,
            mimetype=CHECKPOINT_MIMETYPE,
        )


def checkpoint_ids(study: optuna.Study, trial: FrozenTrial) -> list[str]:
    """Artifact ids of ``trial``'s checkpoints: its own first, then any its record carries over
    from the trial it re-runs (a retry copies the system attributes)."""
    metas = [
        m for m in get_all_artifact_meta(trial, storage=study._storage)
        if m.filename.startswith(_PREFIX) and m.filename.endswith(_SUFFIX)
    ]
    own = checkpoint_filename(trial.number)
    metas.sort(key=lambda m: m.filename != own)
    return [m.artifact_id for m in metas]


def load_checkpoint(study: optuna.Study, parent: FrozenTrial, store: Any) -> Checkpoint:
    """The checkpoint ``parent`` left, checked against its stored params.

    Raises:
        CheckpointError: No checkpoint, one that does not parse, or one whose params differ from
            the trial's.
    """
    ids = checkpoint_ids(study, parent)
    if not ids:
        raise CheckpointError(
            f"Trial {parent.number} has no checkpoint: a child cannot inherit its weights. Did "
            "its worker write to another artifact directory (`--artifact-dir`)?"
        )
    with tempfile.TemporaryDirectory(prefix="optuna-glo-checkpoint-") as tmp:
        path = Path(tmp) / "checkpoint.pt"
        try:
            download_artifact(artifact_store=store, artifact_id=ids[0], file_path=str(path))
        except ArtifactNotFound:
            raise CheckpointError(
                f"Trial {parent.number}'s checkpoint (artifact {ids[0]}) is not in the artifact "
                "store: deleted, or the workers use different artifact directories."
            ) from None
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise CheckpointError(
                f"Trial {parent.number}'s checkpoint cannot be read: {' '.join(str(err).split())}"
            ) from None
    checkpoint = _parse(data, parent.number)
    stored = numeric_params(parent.params)
    if checkpoint.params != stored:
        raise CheckpointError(
            f"Trial {parent.number}'s checkpoint was trained with the params "
            f"{checkpoint.params}, but the trial's params are {stored}: weights and "
            "hyperparameters do not belong together."
        )
    return checkpoint


def _parse(data: Any, number: int) -> Checkpoint:
    what = f"Trial {number}'s checkpoint"
    keys = {"model", "optimizer", "epoch", "step", "params", "trial"}
    if not isinstance(data, dict) or set(data) != keys:
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{what} must be a dict with the keys {sorted(keys)}; it has {got}.")
    model, optimizer, params = data["model"], data["optimizer"], data["params"]
    if not isinstance(model, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in model.items()
    ):
        raise CheckpointError(f"{what}: `model` must map names to tensors.")
    if optimizer is not None and not isinstance(optimizer, dict):
        raise CheckpointError(f"{what}: `optimizer` must be a state dict or None.")
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and _finite(v) for k, v in params.items()
    ):
        raise CheckpointError(f"{what}: `params` must map names to finite numbers.")
    epoch, step, trial = data["epoch"], data["step"], data["trial"]
    if not (_finite(epoch) and epoch >= 0 and _count(step) and _count(trial)):
        raise CheckpointError(
            f"{what}: `epoch`, `step` and `trial` must be numbers >= 0; they are {epoch!r}, "
            f"{step!r} and {trial!r}."
        )
    return Checkpoint(model, optimizer, float(epoch), step, dict(params), trial)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def collect_garbage(
    study: optuna.Study, store: Any, keep: Collection[int], done: set[int] | None = None
) -> list[int]:
    """Delete the checkpoints of every finished trial not in ``keep``.

    Args:
        study: The study.
        store: Its artifact store.
        keep: Numbers of the trials that can still be a parent (``individuals_alive``).
        done: Trials already collected (skipped; the ones collected now are added).

    Returns:
        The numbers of the trials whose checkpoint files were deleted now.
    """
    keep = set(keep)
    removed = []
    for t in study.get_trials(deepcopy=False, states=_FINISHED):
        if t.number in keep or (done is not None and t.number in done):
            continue
        deleted = False
        for artifact_id in checkpoint_ids(study, t):
            try:
                store.remove(artifact_id)
                deleted = True
            except ArtifactNotFound:  # another worker was first, or copied from a re-run trial
                pass
        if deleted:
            removed.append(t.number)
        if done is not None:
            done.add(t.number)
    return removed


def stored_checkpoints(study: optuna.Study, store: Any) -> list[int]:
    """Numbers of the trials whose own checkpoint is in the store now."""
    out = []
    for t in study.get_trials(deepcopy=False):
        for m in get_all_artifact_meta(t, storage=study._storage):
            if m.filename == checkpoint_filename(t.number) and _exists(store, m.artifact_id):
                out.append(t.number)
                break
    return out


def _exists(store: Any, artifact_id: str) -> bool:
    try:
        store.open_reader(artifact_id).close()
    except ArtifactNotFound:
        return False
    return True


def numeric_params(params: Mapping[str, Any]) -> dict[str, float]:
    """The numeric params of a trial, as floats (what a checkpoint records)."""
    return {k: float(v) for k, v in params.items() if _finite(v)}
