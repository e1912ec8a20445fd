"""SVHN (Street View House Numbers) in its original cropped-digit ``.mat`` files.

The files are the ones torchvision's ``SVHN`` downloads into its root (here the data directory):
``train_32x32.mat``, ``test_32x32.mat`` and ``extra_32x32.mat``, MATLAB files with ``X`` a
``uint8 [32, 32, 3, N]`` array and ``y`` a ``[N, 1]`` array of labels 1..10, where 10 is the
digit 0 (Netzer et al. 2011). They are read with ``scipy.io.loadmat``, as torchvision does.

Two data sets:

- ``svhn``: TaylorGLO appendix A.3: the 73,257 training digits less 26,032 held out for
  validation, i.e. 47,225 / 26,032 / 26,032; no extra set.
- ``svhn-extra``: EPBT section 4.2: "around 600,000 training images" (train plus the 531,131
  extra digits) with "a validation set of 30,000 images", i.e. 574,388 / 30,000 / 26,032. As
  float32 these are about 7 GB in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from optuna_glo.objectives._data import (
    SPLIT_SEED,
    DatasetInfo,
    DataUnavailableError,
    Splits,
    register_dataset,
    split_off,
    torchvision_datasets,
)

SVHN_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat", "extra": "extra_32x32.mat"}

#: Per-channel mean and standard deviation of SVHN's 73,257 training digits (pixels in [0, 1]);
#: the models' input normalization (TaylorGLO appendix A.3 uses A.2's pipeline).
SVHN_MEAN = (0.4377, 0.4438, 0.4728)
SVHN_STD = (0.1980, 0.2010, 0.1970)

#: Validation sizes: TaylorGLO appendix A.3 and EPBT section 4.2.
SVHN_N_VAL = 26_032
SVHN_EXTRA_N_VAL = 30_000

_HOW_TO_GET = (
    "Download {files} from http://ufldl.stanford.edu/housenumbers/ into the data directory "
    "(`--data-dir` or $OPTUNA_GLO_DATA_DIR), or run with `--download` on a machine with internet "
    "access."
)


def read_svhn_mat(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """One SVHN ``.mat`` file: ``(images float32 [N, 3, 32, 32] in [0, 1], labels int64 [N])``.

    Label 10 (the digit 0) becomes class 0, as in torchvision.
    """
    images, labels = _read_svhn_uint8(path)
    return _to_float(images), labels


def _to_float(images: torch.Tensor) -> torch.Tensor:
    return images.float().div_(255.0)


def _read_svhn_uint8(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path), variable_names=("X", "y"))
    except (ValueError, OSError, NotImplementedError) as err:
        raise DataUnavailableError(f"{path} is not a readable SVHN .mat file ({err}).") from err
    if "X" not in mat or "y" not in mat:
        raise DataUnavailableError(f"{path} is not an SVHN file (no `X` / `y`).")
    x = np.asarray(mat["X"], dtype=np.uint8)
    y = np.asarray(mat["y"], dtype=np.int64).reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise DataUnavailableError(
            f"{path}: `X` has shape {x.shape} and `y` {len(y)} labels; expected [32, 32, 3, N] "
            f"and N labels."
        )
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(3, 2, 0, 1)))
    labels = torch.from_numpy(y % 10)
    return images, labels


def _available(*splits: str) -> Callable[[Path], bool]:
    def check(data_dir: Path) -> bool:
        return all((data_dir / SVHN_FILES[s]).is_file() for s in splits)

    return check


def _ensure(data_dir: Path, download: bool, splits: tuple[str, ...]) -> None:
    missing = [SVHN_FILES[s] for s in splits if not (data_dir / SVHN_FILES[s]).is_file()]
    if not missing:
        return
    how = _HOW_TO_GET.format(files=", ".join(missing))
    if not download:
        raise DataUnavailableError(
            f"SVHN is not in {data_dir} (missing {', '.join(missing)}). {how}"
        )
    tvd = torchvision_datasets("Downloading SVHN")
    for split in splits:
        if not (data_dir / SVHN_FILES[split]).is_file():
            try:
                tvd.SVHN(root=str(data_dir), split=split, download=True)
            except (OSError, RuntimeError) as err:
                raise DataUnavailableError(
                    f"Downloading SVHN {split} into {data_dir} failed ({err}). {how}"
                ) from err


def load_svhn(data_dir: Path, download: bool, *, n_val: int = SVHN_N_VAL) -> Splits:
    """SVHN without the extra set: 47,225 / 26,032 / 26,032 (TaylorGLO appendix A.3).

    Args:
        data_dir: Directory holding ``train_32x32.mat`` and ``test_32x32.mat``.
        download: Whether torchvision may download missing files.
        n_val: Training digits held out (with the project's fixed split seed) for validation.
    """
    _ensure(data_dir, download, ("train", "test"))
    x, y = read_svhn_mat(data_dir / SVHN_FILES["train"])
    if not 0 < n_val < len(y):
        raise ValueError(
            f"`n_val` must be in [1, {len(y) - 1}] for {len(y)} training digits. The specified "
            f"`n_val` is {n_val}."
        )
    test_x, test_y = read_svhn_mat(data_dir / SVHN_FILES["test"])
    train_x, train_y, val_x, val_y = split_off(x, y, n_val)
    return Splits(train_x, train_y, val_x, val_y, test_x, test_y, 10)


def load_svhn_extra(
    data_dir: Path, download: bool, *, n_val: int = SVHN_EXTRA_N_VAL
) -> Splits:
    """SVHN training plus extra digits, 30,000 of them held out: EPBT section 4.2.

    Args:
        data_dir: Directory holding ``train_32x32.mat``, ``extra_32x32.mat``, ``test_32x32.mat``.
        download: Whether torchvision may download missing files.
        n_val: Digits held out (with the project's fixed split seed) for validation.
    """
    _ensure(data_dir, download, ("train", "extra", "test"))
    # Joined and split as uint8 (1.9 GB), then converted: float32 copies of the whole would
    # need about 20 GB at peak instead of about 11.
    train_x, train_y = _read_svhn_uint8(data_dir / SVHN_FILES["train"])
    extra_x, extra_y = _read_svhn_uint8(data_dir / SVHN_FILES["extra"])
    x, y = torch.cat([train_x, extra_x]), torch.cat([train_y, extra_y])
    del train_x, extra_x
    if not 0 < n_val < len(y):
        raise ValueError(
            f"`n_val` must be in [1, {len(y) - 1}] for {len(y)} digits. The specified `n_val` is "
            f"{n_val}."
        )
    test_x, test_y = read_svhn_mat(data_dir / SVHN_FILES["test"])
    fit_x, fit_y, val_x, val_y = split_off(x, y, n_val, seed=SPLIT_SEED)
    del x
    return Splits(_to_float(fit_x), fit_y, _to_float(val_x), val_y, test_x, test_y, 10)


register_dataset(DatasetInfo(
    "svhn",
    "SVHN train/test .mat files in --data-dir (or --download), 47,225/26,032/26,032, no extra",
    load_svhn,
    _available("train", "test"),
))
register_dataset(DatasetInfo(
    "svhn-extra",
    "SVHN train+extra/test .mat files in --data-dir (or --download), 574,388/30,000/26,032",
    load_svhn_extra,
    _available("train", "extra", "test"),
))
