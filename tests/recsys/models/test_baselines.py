"""GRU4Rec / DuoRec / BERT4Rec: shared interface, training from the CLI on the generated default."""
from __future__ import annotations

import json

import pytest
import torch

from recsys.cli import main
from recsys.data import leave_one_out, make_sequence_dataset
from recsys.models import MODELS

SMALL = {"gru4rec": {"hidden_size": 16, "gru_size": 24},
         "duorec": {"hidden_size": 16, "inner_size": 32},
         "bert4rec": {"hidden_size": 16, "inner_size": 32}}


@pytest.fixture(scope="module")
def split():
    return leave_one_out(make_sequence_dataset(num_users=200, num_items=60, num_clusters=6, seed=1, mean_length=9,
                                               max_length=15), max_len=12)


@pytest.mark.parametrize("padding", ["right", "left"])
@pytest.mark.parametrize("name", sorted(SMALL))
def test_full_sort_predict_equals_predict_over_all_items(split, name, padding):
    torch.manual_seed(0)
    data = split if padding == "right" else leave_one_out(_dataset(), max_len=12, padding="left")
    model = MODELS[name].build(data.num_items, max_len=12, padding=padding, **SMALL[name])
    if name == "duorec":  # its same-target positives are indexed from the training split
        model.prepare(None, data)
    batch = data.train[torch.arange(40)]
    loss = model.calculate_loss(batch)
    total = sum(loss.values()) if isinstance(loss, dict) else loss
    assert total.dim() == 0 and torch.isfinite(total)
    total.backward()
    model.eval()
    with torch.no_grad():
        full = model.full_sort_predict(batch)
        assert full.shape == (40, data.num_items + 1)
        for item in (1, 7, data.num_items):  # predict() of every item id = its column of full_sort_predict
            other = batch._replace(target=torch.full_like(batch.target, item))
            assert torch.allclose(model.predict(other), full[:, item], atol=1e-5)
        assert torch.allclose(model.predict(batch), full.gather(1, batch.target[:, None]).squeeze(1), atol=1e-5)


def _dataset():
    return make_sequence_dataset(num_users=200, num_items=60, num_clusters=6, seed=1, mean_length=9, max_length=15)


TINY = ["num_layers=1", "max_len=10", "epochs=1", "batch_size=128", "max_batches_per_epoch=3"]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_trains_from_the_cli_on_the_generated_default(tmp_path, name, capsys):
    run = tmp_path / name
    sizes = [f"{key}={value}" for key, value in SMALL[name].items()]
    assert main(["train", "--model", name, "--quiet", "--run-dir", str(run), *TINY, *sizes]) == 0
    results = json.loads((run / "results.json").read_text())
    assert results["model"] == name
    assert 0.0 <= results["metrics"]["hr@20"]["mean"] <= 1.0
