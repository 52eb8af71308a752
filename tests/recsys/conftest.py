"""One intra-op thread for the recommender tests: their tensors are small, and on a shared 2-core machine a
second OpenMP thread spin-waits far more than it computes (measured: 100x slower steps under load)."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
