"""A light install: torchvision is optional, so MNIST-like files are read here and only
downloads need it; without it a download says in one line which extra to install."""

from __future__ import annotations

import importlib.abc
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from optuna_glo.objectives import DataUnavailableError
from optuna_glo.objectives._cifar import load_cifar10
from optuna_glo.objectives._data import MNIST_FILES, load_mnist, read_idx
from optuna_glo.objectives._svhn import load_svhn


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file of unsigned bytes (the MNIST format)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_mnist(data_dir: Path, n_train: int, n_test: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Small MNIST files (4x4 pixels) where the MNIST loader looks; returns what was written."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 4, 4), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        image_file, label_file = MNIST_FILES[split]
        write_idx(data_dir / "MNIST" / "raw" / image_file, images)
        write_idx(data_dir / "MNIST" / "raw" / label_file, labels)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    return arrays


@pytest.fixture
def no_torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import torchvision`` fail, as where it is not installed."""
    for name in ("torchvision", "torchvision.datasets"):
        monkeypatch.setitem(sys.modules, name, None)


def test_read_idx_reads_what_torchvision_reads(tmp_path: Path) -> None:
    from torchvision.datasets.mnist import read_image_file, read_label_file

    arrays = write_mnist(tmp_path, n_train=7, n_test=3)
    raw = tmp_path / "MNIST" / "raw"
    images, labels = MNIST_FILES["train"]
    assert np.array_equal(read_idx(raw / images), read_image_file(str(raw / images)).numpy())
    assert np.array_equal(read_idx(raw / labels), read_label_file(str(raw / labels)).numpy())
    assert np.array_equal(read_idx(raw / images), arrays["train_images"])


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b"\x00\x00\x0d\x01" + (3).to_bytes(4, "big") + bytes(12), "not an IDX file of unsigned"),
        (b"\x00\x00\x08\x02" + (3).to_bytes(4, "big"), "ends inside its IDX header"),
        (b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + bytes(2), "holds 2 values but"),
        (b"", "not an IDX file"),
    ],
)
def test_read_idx_refuses_a_file_that_disagrees_with_its_header(
    tmp_path: Path, content: bytes, complaint: str
) -> None:
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataUnavailableError, match=complaint):
        read_idx(path)


@pytest.mark.usefixtures("no_torchvision")
def test_mnist_files_load_without_torchvision(tmp_path: Path) -> None:
    arrays = write_mnist(tmp_path, n_train=5_010, n_test=20)
    splits = load_mnist(tmp_path, download=False)
    assert splits.train_x.shape == (10, 1, 4, 4) and splits.val_x.shape == (5_000, 1, 4, 4)
    assert splits.test_x.shape == (20, 1, 4, 4)
    assert np.array_equal(splits.test_x[:, 0].numpy() * 255.0, arrays["test_images"])
    assert np.array_equal(splits.test_y.numpy(), arrays["test_labels"])
    assert float(splits.train_x.max()) <= 1.0


@pytest.mark.usefixtures("no_torchvision")
@pytest.mark.parametrize(
    ("load", "what"),
    [(load_mnist, "Downloading MNIST"), (load_cifar10, "Downloading CIFAR-10"),
     (load_svhn, "Downloading SVHN")],
)
def test_a_download_without_torchvision_names_the_extra(tmp_path: Path, load, what: str) -> None:
    with pytest.raises(DataUnavailableError) as err:
        load(tmp_path / "empty", download=True)
    message = str(err.value)
    assert message.startswith(f"{what} needs torchvision")
    assert "pip install 'optuna-glo[vision]'" in message
    assert "\n" not in message


class _TorchvisionForAnotherTorch(importlib.abc.MetaPathFinder):
    """Fails ``import torchvision`` as PyPI's torchvision does beside a CPU-only torch."""

    def find_spec(self, name: str, path: object, target: object = None) -> None:
        if name.split(".")[0] == "torchvision":
            raise RuntimeError("operator torchvision::nms does not exist")


def test_a_torchvision_for_another_torch_gets_the_same_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "torchvision"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_TorchvisionForAnotherTorch(), *sys.meta_path])
    with pytest.raises(DataUnavailableError) as err:
        load_mnist(tmp_path, download=True)
    message = str(err.value)
    assert "(operator torchvision::nms does not exist)" in message
    assert "pip install 'optuna-glo[vision]'" in message and "\n" not in message


def test_no_module_imports_torchvision_until_a_download(tmp_path: Path) -> None:
    script = (
        "import importlib, pkgutil, sys\n"
        "sys.modules['torchvision'] = None\n"  # import torchvision now fails
        "import optuna_glo\n"
        "for m in pkgutil.walk_packages(optuna_glo.__path__, 'optuna_glo.'):\n"
        "    if m.name != 'optuna_glo.__main__':\n"
        "        importlib.import_module(m.name)\n"
        "from optuna_glo.objectives import load_dataset\n"
        "print(len(load_dataset('digits').train_y))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1197"
