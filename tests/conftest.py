"""Shared fixtures: the staged real data (skipped cleanly when absent) and small graphs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GRAPHCL_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``$GRAPHCL_SHARED_DATA``); the test is skipped when it is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"staged data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def planetoid_root(shared_data: Path) -> Path:
    root = shared_data / "planetoid"
    if not (root / "Cora" / "raw").is_dir():
        pytest.skip(f"Cora raw files not found under {root}")
    return root


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: the test tensors are small, and on a shared 2-core machine a second OpenMP thread
    spin-waits far more than it computes (measured up to 100x slower steps under load)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
