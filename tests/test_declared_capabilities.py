"""Models declare what they offer and the generic code asks: no ``hasattr`` / ``getattr`` on models in the runner,
the evaluators, the trainer or the command lines, and every registered model declares its capabilities."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import graphcl
import recsys
from graphcl.models import MODELS as GRAPH_MODELS
from graphcl.models.base import GraphModel
from graphcl.train.hooks import TrainingHooks
from recsys.models import MODELS as RECSYS_MODELS
from recsys.models import SequentialRecommender

GRAPHCL = Path(graphcl.__file__).parent
RECSYS = Path(recsys.__file__).parent

#: The generic modules: they run any model and must not probe it.
GENERIC = sorted(
    [GRAPHCL / "experiment.py", GRAPHCL / "cli.py", GRAPHCL / "commandline.py", RECSYS / "train.py",
     RECSYS / "eval.py", RECSYS / "cli.py"]
    + list(GRAPHCL.glob("bench*.py")) + list(GRAPHCL.glob("plot*.py"))
    + list((GRAPHCL / "eval").glob("*.py")) + list((GRAPHCL / "train").glob("*.py"))
)


def _sniffing(path: Path) -> list[str]:
    """``hasattr(x, ...)`` / ``getattr(x, ...)`` calls whose object ``x`` is a model (its source names a model or
    the model registry, or is a model class ``cls``)."""
    source = path.read_text()
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("hasattr", "getattr")
                and node.args):
            target = ast.get_source_segment(source, node.args[0]) or ""
            if "model" in target.lower() or target == "cls":
                found.append(f"{path.name}:{node.lineno}: {ast.get_source_segment(source, node)}")
    return found


@pytest.mark.parametrize("path", GENERIC, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_generic_code_asks_instead_of_sniffing(path: Path) -> None:
    assert _sniffing(path) == []


def test_the_check_catches_sniffing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("if hasattr(MODELS[name], 'predict_clusters'):\n    pass\nx = getattr(model, 'cluster_history', None)\n"
                   "y = getattr(data, 'label_rates', None)\n")
    assert len(_sniffing(bad)) == 2


@pytest.mark.parametrize("name", sorted(GRAPH_MODELS))
def test_every_graph_model_declares_its_capabilities(name: str) -> None:
    cls = GRAPH_MODELS[name]
    assert issubclass(cls, GraphModel) and issubclass(cls, TrainingHooks)
    for flag in ("heterogeneous", "predicts_clusters", "needs_labels", "owns_optimizer_step"):
        assert isinstance(getattr(cls, flag), bool), flag
    assert isinstance(cls.extra_metrics, tuple) and all(isinstance(m, str) for m in cls.extra_metrics)
    if cls.predicts_clusters:
        assert cls.predict_clusters is not GraphModel.predict_clusters
    assert cls.embed is not GraphModel.embed and cls.build.__func__ is not GraphModel.build.__func__


@pytest.mark.parametrize("name", sorted(RECSYS_MODELS))
def test_every_recommender_declares_its_capabilities(name: str) -> None:
    cls = RECSYS_MODELS[name]
    assert issubclass(cls, SequentialRecommender) and issubclass(cls, TrainingHooks)
    assert isinstance(cls.min_batch_size, int) and cls.min_batch_size >= 1
    assert isinstance(cls.owns_optimizer_step, bool)
    if cls.owns_optimizer_step:
        assert cls.training_step is not TrainingHooks.training_step


def test_defaults_of_a_model_added_later() -> None:
    """A new model states only what differs: the defaults are a homogeneous, self-supervised model without
    preparation, own clusters or extra metrics."""
    import torch
    from torch_geometric.data import Data

    from graphcl.errors import DataError

    class Minimal(GraphModel):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, data: Data) -> torch.Tensor:
            return self.lin(data.x).pow(2).mean()

        def embed(self, data: Data) -> torch.Tensor:
            return self.lin(data.x).detach()

    model, data = Minimal(), Data(x=torch.ones(3, 2), edge_index=torch.empty(2, 0, dtype=torch.long))
    assert not (model.heterogeneous or model.predicts_clusters or model.needs_labels or model.owns_optimizer_step)
    assert model.prepare(data) is data and model.extra_metric_values() == {} and list(model.cluster_history) == []
    model.set_epoch(3)  # a no-op hook
    with pytest.raises(DataError, match="does not predict clusters"):
        model.predict_clusters(data)
