"""Where tensors live: CUDA when available (override with POFL_DEVICE), else the CPU."""

from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    wanted = os.environ.get("POFL_DEVICE")
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
