"""Devices: which one to train on, and a readable name of it (logs, autotune keys, benchmarks)."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path

import torch


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``/``"auto"`` picks CUDA when present; an unavailable CUDA device is an error.

    Raises:
        ValueError: ``device`` is not a device name torch knows, or names a CUDA device this
            machine does not have.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"`device` must be auto, cpu, cuda or cuda:K. The specified device is "
            f"{str(device)[:100]!r}."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"`device` is {str(device)!r}, but this machine has no CUDA GPU.")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"`device` is {str(device)!r}, but this machine has {torch.cuda.device_count()} "
            "CUDA GPU(s), numbered from 0."
        )
    return dev


def device_name(device: torch.device | str) -> str:
    """A readable name of the device: the GPU's name, or the CPU model with its thread count."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"cpu: {model} ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def cuda_devices(device: torch.device) -> list[torch.device]:
    """The devices whose random state :func:`torch.random.fork_rng` must fork for ``device``."""
    return [device] if device.type == "cuda" else []
