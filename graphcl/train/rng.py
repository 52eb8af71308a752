"""Capture and restore every random-number-generator state a training run depends on.

Exact resumption needs the global generators of Python's ``random``, NumPy and torch (CPU and every CUDA
device), plus any ``torch.Generator`` a data loader or sampler owns. The captured state holds only tensors and
plain Python values, so it can be stored in a checkpoint that loads with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import random
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


def get_rng_state(generators: Mapping[str, torch.Generator] | None = None) -> dict[str, Any]:
    """Snapshot of the global RNG states (and of extra named generators).

    Args:
        generators: Extra ``torch.Generator`` objects to include, by name (e.g. a ``DataLoader``'s).

    Returns:
        ``{"torch": ByteTensor, "numpy": {...plain values...}, "python": [version, [ints], gauss],
        "cuda": [ByteTensor, ...] (only when CUDA is initialised), "generators": {name: ByteTensor}}``.
    """
    kind, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "bit_generator": str(kind),
            "keys": [int(k) for k in keys.tolist()],
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "python": [int(version), list(internal), gauss_next],
    }
    # Querying CUDA RNG state would initialise CUDA in CPU-only runs; only record it once CUDA is in use.
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    if generators:
        state["generators"] = {name: gen.get_state() for name, gen in generators.items()}
    return state


def set_rng_state(state: Mapping[str, Any], generators: Mapping[str, torch.Generator] | None = None) -> None:
    """Restore a snapshot made by :func:`get_rng_state`.

    Args:
        state: The snapshot.
        generators: Extra generators to restore, by the names used when capturing. A name missing from the
            snapshot is left as it is (with a warning).
    """
    torch.set_rng_state(state["torch"])
    np_state = state["numpy"]
    np.random.set_state((
        np_state["bit_generator"],
        np.asarray(np_state["keys"], dtype=np.uint32),
        np_state["pos"],
        np_state["has_gauss"],
        np_state["cached_gaussian"],
    ))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    cuda_states = state.get("cuda")
    if cuda_states is not None and torch.cuda.is_available():
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        else:
            warnings.warn(
                f"the checkpoint holds RNG states for {len(cuda_states)} CUDA devices but "
                f"{torch.cuda.device_count()} are visible; CUDA RNG states were not restored",
                stacklevel=2,
            )
    saved = state.get("generators", {})
    for name, gen in (generators or {}).items():
        if name in saved:
            gen.set_state(saved[name])
        else:
            warnings.warn(f"no RNG state for generator {name!r} in the checkpoint; left as it is", stacklevel=2)
