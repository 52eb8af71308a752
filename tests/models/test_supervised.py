import pytest
import torch

from graphcl.config import resolve_config, split_config
from graphcl.errors import ConfigError
from graphcl.eval.splits import random_node_split
from graphcl.models import SupervisedGCN
from tests.models._toy import toy_graph, train_losses


def test_trains_on_exactly_the_probe_training_split():
    data = toy_graph()
    torch.manual_seed(3)  # the run's seed, as seed_everything(3) sets it
    model = SupervisedGCN.build(data.num_features, num_classes=2, train_ratio=0.2, val_ratio=0.1)
    probe_train = random_node_split(data.num_nodes, 0.2, 0.1, seed=3)[0]
    assert torch.equal(model.train_index(data.num_nodes), probe_train)
    # Labels outside the training split do not change the loss.
    model.eval()
    scrambled = data.clone()
    others = torch.ones(data.num_nodes, dtype=torch.bool)
    others[probe_train] = False
    scrambled.y = data.y.clone()
    scrambled.y[others] = 1 - scrambled.y[others]
    assert model(data).item() == pytest.approx(model(scrambled).item())


def test_training_fits_the_labels():
    torch.manual_seed(0)
    data = toy_graph()
    model = SupervisedGCN.build(
        data.num_features, num_classes=2, hidden_channels=16, split_seed=0, train_ratio=0.5, dropout=0.0
    )
    losses = train_losses(model, data, steps=100, lr=0.05)
    assert losses[-1] < 0.5 * losses[0]
    assert model.embed(data).shape == (data.num_nodes, 16)


def test_config_hands_the_probe_split_to_the_model_and_checks_repeats():
    cfg = resolve_config("supervised", "cora", overrides={"train_ratio": 0.2})
    model_kw, _, eval_kw = split_config(cfg)
    assert model_kw["train_ratio"] == eval_kw["train_ratio"] == 0.2
    assert model_kw["probe_repeats"] == eval_kw["probe_repeats"] == 1
    with pytest.raises(ConfigError, match="probe_repeats"):
        SupervisedGCN.build(10, num_classes=3, probe_repeats=5)
    with pytest.raises(ConfigError, match="num_classes"):
        SupervisedGCN.build(10)
