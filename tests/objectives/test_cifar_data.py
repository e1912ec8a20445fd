"""CIFAR-10 and SVHN loaders, through tiny data sets written in the real file formats."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from _cifar_svhn_files import write_cifar10, write_svhn

from optuna_glo.objectives import DATASETS, DataUnavailableError, _cifar, _svhn, load_dataset
from optuna_glo.objectives._cifar import load_cifar10, read_cifar_batch
from optuna_glo.objectives._svhn import load_svhn, load_svhn_extra, read_svhn_mat


def _rows(x: torch.Tensor) -> set[bytes]:
    return {bytes(r) for r in (x * 255).round().to(torch.uint8).flatten(1).numpy()}


def test_cifar10_pixel_layout(tmp_path: Path) -> None:
    arrays = write_cifar10(tmp_path)
    data, labels = arrays["data_batch_1"]
    images, targets = read_cifar_batch(tmp_path / "cifar-10-batches-py" / "data_batch_1")
    assert images.shape == (12, 3, 32, 32)
    # Red plane first, then green, then blue; 32 values per row.
    assert images[0, 0, 0, 1] == data[0, 1]
    assert images[0, 0, 1, 0] == data[0, 32]
    assert images[0, 1, 0, 0] == data[0, 1024]
    assert images[0, 2, 31, 31] == data[0, 3071]
    assert targets.tolist() == labels


def test_cifar10_reads_python3_pickles_too(tmp_path: Path) -> None:
    # The helper writes Python 2 pickles, as the archive has them; a batch re-pickled by Python 3
    # and numpy 2 (numpy._core module names, bytes via _codecs.encode) loads the same.
    data = np.arange(2 * 3072, dtype=np.int64).reshape(2, 3072).astype(np.uint8)
    with open(tmp_path / "batch", "wb") as f:
        pickle.dump({"data": data, "labels": [4, 9]}, f, protocol=2)
    images, targets = read_cifar_batch(tmp_path / "batch")
    assert np.array_equal(images.reshape(2, 3072), data) and targets.tolist() == [4, 9]


def test_cifar10_splits_partition_the_files(tmp_path: Path) -> None:
    arrays = write_cifar10(tmp_path)
    splits = load_cifar10(tmp_path, download=False, n_val=7)
    assert splits.train_x.shape == (60 - 7, 3, 32, 32)
    assert splits.val_x.shape == (7, 3, 32, 32)
    assert splits.test_x.shape == (8, 3, 32, 32)
    assert splits.train_x.dtype == torch.float32 and splits.train_y.dtype == torch.int64
    assert float(splits.train_x.min()) >= 0.0 and float(splits.train_x.max()) <= 1.0
    file_rows = {bytes(r) for n in arrays if n != "test_batch" for r in arrays[n][0]}
    assert _rows(splits.train_x) | _rows(splits.val_x) == file_rows
    assert not _rows(splits.train_x) & _rows(splits.val_x)
    test_data, test_labels = arrays["test_batch"]
    assert _rows(splits.test_x) == {bytes(r) for r in test_data}
    assert splits.test_y.tolist() == test_labels
    # The validation split is fixed.
    again = load_cifar10(tmp_path, download=False, n_val=7)
    assert torch.equal(again.val_x, splits.val_x)


def test_registered_cifar10_holds_out_5000(tmp_path: Path) -> None:
    info = DATASETS["cifar10"]
    assert not info.is_available(tmp_path)
    write_cifar10(tmp_path, n_per_batch=1_001, n_test=3)
    assert info.is_available(tmp_path)
    splits = load_dataset("cifar10", tmp_path)
    assert (len(splits.train_y), len(splits.val_y), len(splits.test_y)) == (5, 5_000, 3)


def test_cifar10_missing_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match=r"cifar-10-python\.tar\.gz.*--download"):
        load_cifar10(tmp_path, download=False)
    # One missing file is as good as none.
    write_cifar10(tmp_path)
    os.remove(tmp_path / "cifar-10-batches-py" / "data_batch_3")
    assert not DATASETS["cifar10"].is_available(tmp_path)


def test_cifar10_failed_download_is_data_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchvision.datasets

    def offline(**kwargs: object) -> None:
        raise OSError("no network")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(DataUnavailableError, match="no network"):
        load_cifar10(tmp_path, download=True)


class _Evil:
    """Unpickles as a call to ``print``: any callable could be there instead."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pwned",))


def test_cifar10_reader_refuses_code_in_pickles(tmp_path: Path) -> None:
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as f:
        pickle.dump({"data": _Evil(), "labels": [0]}, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        read_cifar_batch(path)


def test_svhn_layout_and_zero_digit(tmp_path: Path) -> None:
    x, y = write_svhn(tmp_path, "train", 9)
    images, labels = read_svhn_mat(tmp_path / "train_32x32.mat")
    assert images.shape == (9, 3, 32, 32)
    # X is [row, column, channel, image].
    assert images[4, 2, 5, 7] * 255 == pytest.approx(float(x[5, 7, 2, 4]))
    assert images[0, 0, 31, 0] * 255 == pytest.approx(float(x[31, 0, 0, 0]))
    assert labels[0] == 0  # label 10 is the digit 0
    assert labels.tolist() == [int(v) % 10 for v in y[:, 0]]
    assert labels.min() >= 0 and labels.max() <= 9


def test_svhn_splits(tmp_path: Path) -> None:
    write_svhn(tmp_path, "train", 20, seed=1)
    write_svhn(tmp_path, "test", 6, seed=2)
    info = DATASETS["svhn"]
    assert info.is_available(tmp_path) and not DATASETS["svhn-extra"].is_available(tmp_path)
    splits = load_svhn(tmp_path, download=False, n_val=5)
    assert (len(splits.train_y), len(splits.val_y), len(splits.test_y)) == (15, 5, 6)
    assert _rows(splits.train_x).isdisjoint(_rows(splits.val_x))
    # TaylorGLO appendix A.3: 26,032 of the 73,257 training digits are the validation set.
    assert _svhn.SVHN_N_VAL == 26_032 and 73_257 - _svhn.SVHN_N_VAL == 47_225


def test_svhn_extra_joins_train_and_extra(tmp_path: Path) -> None:
    write_svhn(tmp_path, "train", 10, seed=1)
    write_svhn(tmp_path, "test", 4, seed=2)
    with pytest.raises(DataUnavailableError, match=r"extra_32x32\.mat"):
        load_svhn_extra(tmp_path, download=False)
    extra_x, _ = write_svhn(tmp_path, "extra", 30, seed=3)
    train_x, _ = write_svhn(tmp_path, "train", 10, seed=1)
    assert DATASETS["svhn-extra"].is_available(tmp_path)
    splits = load_svhn_extra(tmp_path, download=False, n_val=8)
    assert (len(splits.train_y), len(splits.val_y), len(splits.test_y)) == (32, 8, 4)
    assert splits.train_x.dtype == torch.float32 and float(splits.val_x.max()) <= 1.0
    file_rows = {
        bytes(r)
        for x in (train_x, extra_x)
        for r in x.transpose(3, 2, 0, 1).reshape(x.shape[3], -1)
    }
    assert _rows(splits.train_x) | _rows(splits.val_x) == file_rows
    assert _svhn.SVHN_EXTRA_N_VAL == 30_000  # EPBT section 4.2


def test_svhn_missing_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match=r"train_32x32\.mat.*--download"):
        load_svhn(tmp_path, download=False)


def test_not_an_svhn_file(tmp_path: Path) -> None:
    import scipy.io

    scipy.io.savemat(str(tmp_path / "train_32x32.mat"), {"X": np.zeros((2, 2), np.uint8)})
    with pytest.raises(DataUnavailableError, match="not an SVHN file"):
        read_svhn_mat(tmp_path / "train_32x32.mat")


def test_dataset_registry_names() -> None:
    assert DATASETS["cifar10"].load is _cifar.load_cifar10
    assert DATASETS["svhn"].load is _svhn.load_svhn
    assert DATASETS["svhn-extra"].load is _svhn.load_svhn_extra
