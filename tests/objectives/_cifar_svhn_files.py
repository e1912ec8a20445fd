"""Tiny CIFAR-10 and SVHN data sets written in the real on-disk formats (for the tests)."""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


class _Python2Pickler(pickle._Pickler):  # type: ignore[name-defined,misc]
    """Writes protocol-2 pickles as Python 2's cPickle wrote the CIFAR-10 archive: ``str`` and
    ``bytes`` as 8-bit strings (BINSTRING) and numpy under its 1.x module name."""

    dispatch: ClassVar[dict[type, Any]] = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def save_bytes(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    def save_str(self, obj: str) -> None:
        self.save_bytes(obj.encode("latin1"))

    def save_global(self, obj: Any, name: str | None = None) -> None:
        module, qualname = obj.__module__, name or obj.__qualname__
        if module == "numpy._core.multiarray":
            module = "numpy.core.multiarray"
        self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def python2_pickle(obj: object) -> bytes:
    """``obj`` pickled as the original CIFAR-10 files are (Python 2, numpy 1.x)."""
    buf = io.BytesIO()
    _Python2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def write_cifar10(root: Path, n_per_batch: int = 12, n_test: int = 8, seed: int = 0) -> dict:
    """Write ``cifar-10-batches-py/`` as the CIFAR-10 "python version" does; return the arrays.

    Each file is a pickled dict with ``data`` (``uint8 [N, 3072]``: 1024 red, 1024 green, 1024
    blue values, rows of 32) and ``labels`` (a list of ints), as in the original archive.
    """
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, tuple[np.ndarray, list[int]]] = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = n_test if name == "test_batch" else n_per_batch
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        batch = {
            "batch_label": f"{name} of 6",
            "labels": labels,
            "data": data,
            "filenames": [f"img_{i}.png" for i in range(n)],
        }
        (folder / name).write_bytes(python2_pickle(batch))
        arrays[name] = (data, labels)
    return arrays


def write_svhn(root: Path, split: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Write ``{split}_32x32.mat`` as SVHN ships it: ``X`` uint8 [32, 32, 3, N], ``y`` [N, 1] in
    1..10 (10 is the digit 0). Returns ``(X, y)``."""
    import scipy.io

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
    y = rng.integers(1, 11, size=(n, 1)).astype(np.float64)
    y[0, 0] = 10.0  # at least one zero digit
    root.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(root / f"{split}_32x32.mat"), {"X": x, "y": y})
    return x, y
