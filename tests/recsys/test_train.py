"""train_recommender's batching: a last batch too small for a contrastive loss is dropped, nothing else changes."""
from __future__ import annotations

import logging

import pytest
import torch

import recsys.train as rt
from graphcl.errors import ConfigError, DataError
from recsys.data import SequenceDataset, leave_one_out
from recsys.models import SRACL, CL4SRec, MCLRec, SASRec
from recsys.train import train_recommender

SMALL = {"max_len": 5, "hidden_size": 8, "inner_size": 8, "num_layers": 1}


def _split(num_users: int):
    """``3 * num_users`` training samples (every sequence has 6 items)."""
    ds = SequenceDataset.from_sequences([[(u + i) % 7 + 1 for i in range(6)] for u in range(num_users)],
                                        num_items=7)
    return ds, leave_one_out(ds, max_len=5)


def _build(cls, ds, split):
    if cls is SRACL:
        model = SRACL.build(7, semantics="none", k_items=2, k_windows=2, **SMALL)
        model.prepare(ds, split)
        return model
    return cls.build(7, **SMALL)


@pytest.fixture
def batch_sizes(monkeypatch):
    """The sizes of the batches of the loader train_recommender builds (one pass, same generator state)."""
    seen = {}

    def spy(*args, **kwargs):
        loader = real(*args, **kwargs)
        state = loader.generator.get_state()
        seen["sizes"] = [b.target.numel() for b in loader]
        loader.generator.set_state(state)
        return loader

    real = rt.batch_loader
    monkeypatch.setattr(rt, "batch_loader", spy)
    return seen


@pytest.mark.parametrize("cls", [CL4SRec, MCLRec, SRACL])
def test_a_last_batch_of_one_sample_is_dropped_for_contrastive_models(cls, batch_sizes, caplog):
    # 9 samples, batch_size 4: the last batch held one sample and InfoNCE raised "needs at least 2 nodes".
    ds, split = _split(3)
    assert len(split.train) % 4 == 1
    torch.manual_seed(0)
    model = _build(cls, ds, split)
    with caplog.at_level(logging.WARNING, logger="recsys.train"):
        result = train_recommender(model, split, epochs=2, batch_size=4, show_progress=False)
    assert result.epochs_run == 2 and batch_sizes["sizes"] == [4, 4]
    logged = [r.getMessage() for r in caplog.records if r.name == "recsys.train"]
    assert len(logged) == 1 and f"{cls.__name__}: 9 training samples leave a last batch of 1" in logged[0]


@pytest.mark.parametrize(("cls", "num_users", "batch_size", "sizes"), [
    (SASRec, 3, 4, [4, 4, 1]),  # no contrastive loss: a batch of one trains as before
    (CL4SRec, 3, 3, [3, 3, 3]),  # no remainder
    (CL4SRec, 4, 5, [5, 5, 2]),  # a remainder of 2 is a valid contrastive batch
    (MCLRec, 3, 16, [9]),  # one batch
])
def test_every_other_batching_is_unchanged(cls, num_users, batch_size, sizes, batch_sizes, caplog):
    ds, split = _split(num_users)
    torch.manual_seed(0)
    model = _build(cls, ds, split)
    with caplog.at_level(logging.WARNING, logger="recsys.train"):
        train_recommender(model, split, epochs=1, batch_size=batch_size, show_progress=False)
    assert batch_sizes["sizes"] == sizes
    assert not [r for r in caplog.records if r.name == "recsys.train"]


def test_too_few_samples_for_a_contrastive_batch_is_a_clear_error():
    ds, split = _split(3)
    with pytest.raises(ConfigError, match="batch_size must be >= 2 for CL4SRec"):
        train_recommender(CL4SRec.build(7, **SMALL), split, epochs=1, batch_size=1, show_progress=False)
    ds = SequenceDataset.from_sequences([[1, 2, 3, 4]], num_items=4)
    with pytest.raises(DataError, match="MCLRec needs at least 2 training samples .* the split has 1"):
        train_recommender(MCLRec.build(4, **SMALL), leave_one_out(ds, max_len=5), epochs=1, batch_size=4,
                          show_progress=False)
