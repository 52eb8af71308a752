"""Device names of the command lines and runners (``auto``, ``cpu``, ``cuda``, ``cuda:N``) to ``torch.device``."""
from __future__ import annotations

import torch

from graphcl.errors import ConfigError

__all__ = ["resolve_device"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"auto"`` or ``None`` (both: CUDA when available, else the CPU) → a
    usable ``torch.device``.

    Raises:
        ConfigError: Not a device name, or a CUDA device this machine does not have.
    """
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device {str(device)!r} is not a device name; use cpu, cuda or cuda:N") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {str(device)!r} requested but CUDA is not available on this machine")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError(f"device {str(device)!r} requested but only {torch.cuda.device_count()} CUDA device(s) "
                          f"are visible")
    return dev
