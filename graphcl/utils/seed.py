"""Seeding and determinism."""
from __future__ import annotations

import random
import warnings

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and all CUDA devices).

    Args:
        seed: The seed.
        deterministic: Also call ``torch.use_deterministic_algorithms(True)``. On CUDA, PyG's scatter
            kernels use atomics and are not bit-reproducible whatever this flag says; a warning is
            issued there and results should be reported as mean ± std over seeds instead.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        if torch.cuda.is_available():
            warnings.warn(
                "deterministic=True cannot make PyG's scatter kernels reproducible on CUDA; "
                "report mean ± std over several seeds instead.",
                stacklevel=2,
            )
