"""MetaPath2VecFeatures: metapath2vec embeddings replace exactly the featureless node types, deterministically."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data, HeteroData

from graphcl.data.heco import load_heco
from graphcl.errors import ConfigError, DataError
from graphcl.transforms import MetaPath2VecFeatures
from graphcl.transforms.metapath2vec import featureless_node_types, metapath2vec_cycle
from tests.data.test_heco_cli import write_small_heco_folder

FAST = {"embedding_dim": 16, "walk_length": 8, "context_size": 3, "walks_per_node": 2, "epochs": 1}
PA, AP = ("paper", "to", "author"), ("author", "to", "paper")
PR, RP = ("paper", "to", "reference"), ("reference", "to", "paper")


def _small(tmp_path: Path, name: str) -> HeteroData:
    write_small_heco_folder(tmp_path, name)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*loading it as a subset")
        return load_heco(name, tmp_path, cache=False)


def test_every_featureless_type_gets_finite_embeddings_and_the_input_is_untouched(tmp_path: Path) -> None:
    data = _small(tmp_path, "aminer")
    before = {t: data[t].x for t in data.node_types}
    out = MetaPath2VecFeatures(**FAST)(data)
    for node_type in ("paper", "author", "reference"):
        x = out[node_type].x
        assert x.layout == torch.strided and x.dtype == torch.float32
        assert x.shape == (data[node_type].num_nodes, 16) and bool(torch.isfinite(x).all())
        assert data[node_type].x is before[node_type] and data[node_type].x.is_sparse  # input unchanged
    assert torch.equal(out["paper", "PAP", "paper"].edge_index, data["paper", "PAP", "paper"].edge_index)


def test_only_the_chosen_types_change(tmp_path: Path) -> None:
    data = _small(tmp_path, "acm")  # paper and author read feature files, subject is one-hot
    assert featureless_node_types(data) == ["subject"]
    out = MetaPath2VecFeatures(**FAST)(data)
    assert out["subject"].x.shape == (data["subject"].num_nodes, 16)
    for node_type in ("paper", "author"):
        assert out[node_type].x is data[node_type].x
    explicit = MetaPath2VecFeatures(node_types=["author"], **FAST)(data)
    assert explicit["author"].x.shape == (data["author"].num_nodes, 16)
    assert explicit["subject"].x is data["subject"].x and explicit["paper"].x is data["paper"].x


def test_same_seed_same_features_other_seed_other_features_global_rng_untouched(tmp_path: Path) -> None:
    data = _small(tmp_path, "aminer")
    state = torch.get_rng_state()
    first = MetaPath2VecFeatures(seed=3, **FAST)(data)
    assert torch.equal(torch.get_rng_state(), state)
    torch.rand(5)  # another global state must not matter
    second = MetaPath2VecFeatures(seed=3, **FAST)(data)
    other = MetaPath2VecFeatures(seed=4, **FAST)(data)
    for node_type in data.node_types:
        assert torch.equal(first[node_type].x, second[node_type].x)
        assert not torch.equal(first[node_type].x, other[node_type].x)


@pytest.mark.parametrize(("name", "cycle"), [
    ("aminer", "paper author paper reference paper"),
    ("acm", "paper subject paper"),
    ("dblp", "author paper conference paper author"),
    ("freebase", "movie actor movie director movie writer movie"),
])
def test_the_cycle_follows_the_declared_metapaths_through_the_featureless_types(tmp_path: Path, name: str,
                                                                                  cycle: str) -> None:
    data = _small(tmp_path, name)
    edges = metapath2vec_cycle(data, featureless_node_types(data))
    assert " ".join([edges[0][0], *(edge_type[2] for edge_type in edges)]) == cycle
    assert all(edge_type[1] == "to" for edge_type in edges)  # relations, never the stored meta-path graphs


def test_without_declared_metapaths_the_cycle_is_a_shortest_round_trip() -> None:
    data = HeteroData()
    data["a"].num_nodes, data["b"].num_nodes, data["c"].num_nodes = 4, 3, 2
    data["a"].x = torch.rand(4, 5)  # a has features: the walks start at the first chosen type
    ab, bc = torch.tensor([[0, 1, 2, 3], [0, 1, 2, 0]]), torch.tensor([[0, 1, 2], [0, 1, 1]])
    data["a", "ab", "b"].edge_index, data["b", "ba", "a"].edge_index = ab, ab.flip(0)
    data["b", "bc", "c"].edge_index, data["c", "cb", "b"].edge_index = bc, bc.flip(0)
    assert featureless_node_types(data) == ["b", "c"]
    cycle = metapath2vec_cycle(data, ["c"])
    assert cycle == [("c", "cb", "b"), ("b", "bc", "c")]
    data.target_type = "a"
    cycle = metapath2vec_cycle(data, ["c"])
    assert cycle == [("a", "ab", "b"), ("b", "bc", "c"), ("c", "cb", "b"), ("b", "ba", "a")]
    out = MetaPath2VecFeatures(**FAST)(data)
    assert out["b"].x.shape == (3, 16) and out["c"].x.shape == (2, 16) and out["a"].x is data["a"].x


def test_walks_learn_the_planted_groups() -> None:
    """Two groups of papers with disjoint authors: papers of a group end up closer to each other than to the
    other group's."""
    generator = torch.Generator().manual_seed(0)
    papers, authors = 40, 20
    group = torch.arange(papers) % 2
    src = torch.arange(papers).repeat_interleave(3)
    dst = (torch.randint(0, authors // 2, (3 * papers,), generator=generator) * 2 + group[src])
    data = HeteroData()
    data["paper"].num_nodes, data["author"].num_nodes = papers, authors
    data[PA].edge_index = torch.stack([src, dst])
    data[AP].edge_index = torch.stack([dst, src])
    data.target_type = "paper"
    x = MetaPath2VecFeatures(embedding_dim=16, walk_length=20, context_size=5, walks_per_node=5, epochs=10,
                             batch_size=8)(data)["paper"].x
    z = torch.nn.functional.normalize(x, dim=1)
    similarity = z @ z.T
    same = group[:, None] == group[None, :]
    off_diagonal = ~torch.eye(papers, dtype=torch.bool)
    assert similarity[same & off_diagonal].mean() > similarity[~same].mean() + 0.3


def test_an_explicit_metapath_is_checked(tmp_path: Path) -> None:
    data = _small(tmp_path, "aminer")
    out = MetaPath2VecFeatures(node_types=["paper", "author"], metapath=[PA, AP], **FAST)(data)
    assert out["author"].x.shape[1] == 16 and out["reference"].x is data["reference"].x
    with pytest.raises(DataError, match="never visits \\['reference'\\]"):
        MetaPath2VecFeatures(metapath=[PA, AP], **FAST)(data)
    with pytest.raises(DataError, match="does not chain: the cycle does not close"):
        MetaPath2VecFeatures(node_types=["paper"], metapath=[PA], **FAST)(data)
    with pytest.raises(DataError, match="step 0 ends at 'author' but step 1 starts at 'paper'"):
        MetaPath2VecFeatures(node_types=["paper"], metapath=[PA, PR, RP], **FAST)(data)
    with pytest.raises(DataError, match="is not in the graph"):
        MetaPath2VecFeatures(metapath=[PA, ("author", "cites", "paper")], **FAST)(data)
    with pytest.raises(ConfigError, match="'walk_length' \\(3\\) is shorter than the meta-path cycle \\(4 steps"):
        MetaPath2VecFeatures(**{**FAST, "walk_length": 3})(data)


def test_bad_graphs_are_named(tmp_path: Path) -> None:
    data = _small(tmp_path, "aminer")
    with pytest.raises(DataError, match="node type\\(s\\) \\['venue'\\] are not in the graph"):
        MetaPath2VecFeatures(node_types=["venue"], **FAST)(data)
    with pytest.raises(DataError, match="needs a HeteroData"):
        MetaPath2VecFeatures(**FAST)(Data(x=torch.eye(3), edge_index=torch.tensor([[0, 1], [1, 2]])))
    for node_type in data.node_types:
        data[node_type].x = torch.rand(data[node_type].num_nodes, 4)
    with pytest.raises(DataError, match="no node type has one-hot"):
        MetaPath2VecFeatures(**FAST)(data)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"embedding_dim": 0}, "'embedding_dim' must be an integer >= 1, got 0"),
    ({"walk_length": 2.5}, "'walk_length' must be an integer >= 1"),
    ({"context_size": 1}, "'context_size' must be an integer >= 2"),
    ({"walk_length": 4, "context_size": 6}, "'context_size' \\(6\\) must be at most walk_length \\+ 1 \\(5\\)"),
    ({"walks_per_node": True}, "'walks_per_node' must be an integer"),
    ({"num_negative_samples": -1}, "'num_negative_samples' must be an integer >= 1"),
    ({"epochs": "5"}, "'epochs' must be an integer >= 1"),
    ({"batch_size": 0}, "'batch_size' must be an integer >= 1"),
    ({"lr": 0.0}, "'lr' must be a positive finite number"),
    ({"lr": float("nan")}, "'lr' must be a positive finite number"),
    ({"seed": -1}, "'seed' must be an integer >= 0"),
    ({"node_types": []}, "'node_types' must be None or a non-empty list"),
    ({"node_types": ["a", "a"]}, "'node_types' lists a type twice"),
    ({"metapath": ["paper"]}, "'metapath' must be None or a non-empty list of \\(src, relation, dst\\)"),
    ({"metapath": [("paper", "author")]}, "'metapath' must be None or a non-empty list"),
])
def test_bad_arguments_give_one_line_config_errors(arguments: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        MetaPath2VecFeatures(**arguments)
    assert "\n" not in str(info.value) and str(info.value).startswith("MetaPath2VecFeatures: ")


def test_repr_and_arguments_list_every_setting() -> None:
    transform = MetaPath2VecFeatures(node_types="author", metapath=[PA, AP], epochs=2)
    assert transform.node_types == ("author",)
    assert transform.arguments()["metapath"] == [list(PA), list(AP)] and transform.arguments()["epochs"] == 2
    assert "epochs=2" in repr(transform) and "embedding_dim=64" in repr(transform)
