"""Where tensors live: CUDA when available (override with POFL_DEVICE), else the CPU."""

from __future__ import annotations

import os

import torch

from offchain.errors import ConfigError


def default_device() -> torch.device:
    """``POFL_DEVICE`` (checked: a device torch knows and this machine has), else CUDA when available, else the
    CPU."""
    wanted = os.environ.get("POFL_DEVICE")
    if not wanted:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(wanted)
    except RuntimeError:
        raise ConfigError(f"POFL_DEVICE={wanted!r} is not a torch device: use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            build = "a CPU-only torch build" if torch.version.cuda is None else f"torch for CUDA {torch.version.cuda}"
            raise ConfigError(f"POFL_DEVICE={wanted}: no CUDA device here ({build}, torch {torch.__version__}); "
                              f"unset POFL_DEVICE or set it to cpu (on a GPU machine, install a CUDA build: "
                              f"POFL_TORCH=torch==<version> ./scripts/setup.sh)")
        if device.index is not None and device.index >= count:
            raise ConfigError(f"POFL_DEVICE={wanted}: this machine has {count} CUDA device(s), numbered from 0")
    elif device.type != "cpu":
        raise ConfigError(f"POFL_DEVICE={wanted}: PoFL-chain runs on cpu or cuda")
    return device
