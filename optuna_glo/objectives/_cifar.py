"""CIFAR-10 in its original "python version" files, 45,000 / 5,000 / 10,000.

The files are the ones torchvision downloads and reads (``cifar-10-batches-py/data_batch_1`` ...
``data_batch_5`` and ``test_batch``: pickled dicts whose ``data`` is a ``uint8 [N, 3072]`` array,
red then green then blue planes of 32x32 row-major pixels, and whose ``labels`` is a list of
ints). torchvision fetches them when the user allows a download; this module reads them itself,
with an unpickler that only accepts numpy arrays, so a file in a shared data directory cannot run
code, and so data written in the same format (tests) loads through the same path.

The split follows TaylorGLO appendix A.2 ("5,000 samples from the training dataset were used for
validation of candidates, resulting in 45,000 training samples") and EPBT section 4.1.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from optuna_glo.objectives._data import (
    DatasetInfo,
    DataUnavailableError,
    Splits,
    register_dataset,
    split_off,
    torchvision_datasets,
)

#: Folder (under the data directory) that torchvision's CIFAR10 downloads and extracts.
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"

#: Per-channel mean and standard deviation of the 50,000 CIFAR-10 training images (pixels in
#: [0, 1]); the models' input normalization (TaylorGLO appendix A.2, EPBT section 4.1).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

_HOW_TO_GET = (
    "Download and extract https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz into the data "
    "directory (`--data-dir` or $OPTUNA_GLO_DATA_DIR), or run with `--download` on a machine "
    "with internet access."
)

# numpy's array reconstruction, under the module names numpy 1.x and 2.x write into pickles.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings and numpy arrays; refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"{module}.{name} is not allowed in a CIFAR-10 batch file."
            )
        if name == "_reconstruct":
            return _numpy_reconstruct()
        return super().find_class(module, name)


def _numpy_reconstruct() -> Any:
    import importlib

    try:
        multiarray = importlib.import_module("numpy._core.multiarray")  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        multiarray = importlib.import_module("numpy.core.multiarray")
    return multiarray._reconstruct


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch file: ``(images uint8 [N, 3, 32, 32], labels int64 [N])``."""
    with open(path, "rb") as f:
        batch = _ArrayUnpickler(f, encoding="latin1").load()
    data = batch.get("data") if isinstance(batch, dict) else None
    labels = batch.get("labels") if isinstance(batch, dict) else None
    if data is None or labels is None:
        raise DataUnavailableError(f"{path} is not a CIFAR-10 batch (no `data` / `labels`).")
    images = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32)
    targets = np.asarray(labels, dtype=np.int64)
    if len(images) != len(targets):
        raise DataUnavailableError(
            f"{path} has {len(images)} images but {len(targets)} labels."
        )
    return images, targets


def _download(data_dir: Path) -> None:
    tvd = torchvision_datasets("Downloading CIFAR-10")
    try:
        tvd.CIFAR10(root=str(data_dir), train=True, download=True)
    except (OSError, RuntimeError) as err:  # no network, or a corrupted archive
        raise DataUnavailableError(
            f"Downloading CIFAR-10 into {data_dir} failed ({err}). {_HOW_TO_GET}"
        ) from err


def cifar10_available(data_dir: Path) -> bool:
    """Whether all six CIFAR-10 batch files are in ``data_dir``."""
    folder = data_dir / CIFAR10_FOLDER
    return all((folder / f).is_file() for f in (*CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE))


def _to_float(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(255.0)


def load_cifar10(data_dir: Path, download: bool, *, n_val: int = 5_000) -> Splits:
    """CIFAR-10 as ``float32 [N, 3, 32, 32]`` pixels in ``[0, 1]``: 45,000 / 5,000 / 10,000.

    Args:
        data_dir: Directory holding ``cifar-10-batches-py/``.
        download: Whether torchvision may download the files if they are missing.
        n_val: Training images held out (with the project's fixed split seed) for validation.
    """
    if not cifar10_available(data_dir):
        if not download:
            raise DataUnavailableError(
                f"CIFAR-10 is not in {data_dir / CIFAR10_FOLDER}. {_HOW_TO_GET}"
            )
        _download(data_dir)
    folder = data_dir / CIFAR10_FOLDER
    parts = [read_cifar_batch(folder / f) for f in CIFAR10_TRAIN_FILES]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    if not 0 < n_val < len(y):
        raise ValueError(
            f"`n_val` must be in [1, {len(y) - 1}] for {len(y)} training images. The specified "
            f"`n_val` is {n_val}."
        )
    test_x, test_y = read_cifar_batch(folder / CIFAR10_TEST_FILE)
    train_x, train_y, val_x, val_y = split_off(_to_float(x), torch.from_numpy(y), n_val)
    return Splits(
        train_x, train_y, val_x, val_y, _to_float(test_x), torch.from_numpy(test_y), 10
    )


register_dataset(DatasetInfo(
    "cifar10",
    f"CIFAR-10 python batches ({CIFAR10_FOLDER}/ in --data-dir, or --download), 45k/5k/10k",
    load_cifar10,
    cifar10_available,
))
