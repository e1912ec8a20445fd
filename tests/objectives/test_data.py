"""Data sets: splits, the real file readers on files written here, clear errors when missing."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from optuna_glo.objectives import DataUnavailableError, load_dataset
from optuna_glo.objectives import _data as data_module


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an array in MNIST's IDX format (big-endian header, unsigned bytes)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist_files(raw: Path, n_train: int, n_test: int, gz: bool = False) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(n_test) % 10,
    }
    for name, arr in files.items():
        write_idx(raw / name, arr)
        if gz:
            (raw / f"{name}.gz").write_bytes(gzip.compress((raw / name).read_bytes()))
            (raw / name).unlink()


def test_mnist_reads_real_idx_files_with_the_papers_split(tmp_path: Path) -> None:
    # 5,000 validation images are split off the training set (GLO IV-A1: 55k / 5k / 10k).
    write_mnist_files(tmp_path / "MNIST" / "raw", n_train=5_100, n_test=30)
    splits = data_module.load_mnist(tmp_path, download=False)
    assert (len(splits.train_y), len(splits.val_y), len(splits.test_y)) == (100, 5_000, 30)
    assert splits.train_x.shape[1:] == (1, 28, 28)
    assert float(splits.train_x.min()) >= 0.0 and float(splits.train_x.max()) <= 1.0


def test_missing_mnist_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match="--download"):
        data_module.load_mnist(tmp_path, download=False)


def test_fashion_mnist_is_unpacked_from_debian_files(tmp_path: Path, monkeypatch) -> None:
    debian = tmp_path / "debian"
    write_mnist_files(debian, n_train=5_010, n_test=20, gz=True)
    monkeypatch.setattr(data_module, "DEBIAN_FASHION_MNIST_DIR", debian)
    splits = data_module.load_fashion_mnist(tmp_path / "data", download=False)
    assert (len(splits.train_y), len(splits.val_y), len(splits.test_y)) == (10, 5_000, 20)
    assert (tmp_path / "data" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").exists()


def test_missing_fashion_mnist_names_the_debian_package(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(data_module, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "nowhere")
    with pytest.raises(DataUnavailableError, match="dataset-fashion-mnist"):
        data_module.load_fashion_mnist(tmp_path, download=False)


def test_offline_data_sets_have_fixed_splits() -> None:
    digits = load_dataset("digits")
    assert (len(digits.train_y), len(digits.val_y), len(digits.test_y)) == (1_197, 300, 300)
    assert digits.train_x.shape[1] == 64
    mnist5k = load_dataset("mnist5k")
    assert (len(mnist5k.train_y), len(mnist5k.val_y), len(mnist5k.test_y)) == (3_500, 500, 1_000)
    again = data_module.load_mnist5k(Path("."), download=False)
    assert np.array_equal(again.val_y.numpy(), mnist5k.val_y.numpy())


def test_subset_train_is_fixed_and_sized() -> None:
    digits = load_dataset("digits")
    half = digits.subset_train(0.5)
    assert len(half.train_y) == round(1_197 * 0.5)
    assert np.array_equal(half.train_y.numpy(), digits.subset_train(0.5).train_y.numpy())
    with pytest.raises(ValueError, match="`portion`"):
        digits.subset_train(0.0)


def test_unknown_data_set_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="digits"):
        load_dataset("imagenet")
