import pytest
import torch
from torch import nn

from graphcl.nn import RRELU_EVAL_SLOPE, GCNEncoder, ProjectionHead, make_activation


def small_graph():
    x = torch.randn(6, 5)
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    return x, edge_index


def test_activation_after_last_layer_and_layer_widths():
    enc = GCNEncoder(5, 8)
    x, ei = small_graph()
    out = enc(x, ei)
    assert out.shape == (6, 8)
    assert (out >= 0).all()  # ReLU applied after the last layer too
    convs = enc.gnn.convs
    assert (convs[0].in_channels, convs[0].out_channels) == (5, 16)  # first layer 2H wide, as in GRACE
    assert (convs[1].in_channels, convs[1].out_channels) == (16, 8)


def test_prelu_is_shared_between_layers():
    enc = GCNEncoder(5, 8, num_layers=3, activation="prelu")
    prelus = [m for m in enc.modules() if isinstance(m, nn.PReLU)]
    assert len({id(m) for m in prelus}) == 1
    assert sum(p.numel() for n, p in enc.named_parameters() if "act" in n) == 1


def test_isolated_node_gets_embedding():
    enc = GCNEncoder(5, 4)
    x, ei = small_graph()  # node 5 is isolated
    out = enc(x, ei)
    assert torch.isfinite(out[5]).all()


def test_rrelu_is_deterministic_leaky_relu():
    act = make_activation("rrelu")
    x = torch.tensor([-1.0, 2.0])
    assert torch.allclose(act(x), torch.tensor([-RRELU_EVAL_SLOPE, 2.0]))
    with pytest.raises(ValueError, match="unknown activation"):
        make_activation("nope")
    with pytest.raises(ValueError, match="num_layers"):
        GCNEncoder(5, 4, num_layers=0)


def test_edge_weight_changes_output_and_projection_head_shape():
    enc = GCNEncoder(5, 4, num_layers=1)
    x, ei = small_graph()
    w = torch.rand(ei.size(1)) + 0.1
    assert not torch.allclose(enc(x, ei), enc(x, ei, w))
    head = ProjectionHead(4, 3)
    assert head(torch.randn(7, 4)).shape == (7, 4)
    assert ProjectionHead(4, 3, 2)(torch.randn(7, 4)).shape == (7, 2)


def _sparse_vs_reference(enc, x, edge_index, edge_weight=None, x_input=None):
    """Output and parameter gradients of the sparse path against PyG's message passing (``sparse=False``)."""
    import copy

    enc.zero_grad(set_to_none=True)
    ref = copy.deepcopy(enc)
    ref.sparse = False
    out = enc(x if x_input is None else x_input, edge_index, edge_weight)
    out_ref = ref(x, edge_index, edge_weight)
    grad = torch.randn_like(out_ref)
    (out * grad).sum().backward()
    (out_ref * grad).sum().backward()
    assert torch.allclose(out, out_ref, atol=1e-5, rtol=1e-4)
    for (name, p), (_, q) in zip(enc.named_parameters(), ref.named_parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-4, rtol=1e-4), name


@pytest.mark.parametrize("num_layers,activation", [(1, "relu"), (2, "prelu"), (3, "rrelu")])
def test_sparse_path_matches_message_passing(num_layers, activation):
    torch.manual_seed(0)
    n, f = 40, 30
    x = torch.randn(n, f) * (torch.rand(n, f) < 0.05)  # bag-of-words-like: sparse first layer
    # Directed edges, a duplicate, an existing self-loop, isolated nodes (38, 39 have no edges).
    edge_index = torch.cat([torch.randint(0, 38, (2, 120)), torch.tensor([[3, 3, 5], [7, 7, 5]])], 1)
    enc = GCNEncoder(f, 8, num_layers=num_layers, activation=activation)
    _sparse_vs_reference(enc, x, edge_index)
    _sparse_vs_reference(enc, x, edge_index, torch.rand(edge_index.size(1)) + 0.1)  # edge weights
    _sparse_vs_reference(enc, torch.randn(n, f), edge_index)  # dense features: dense first product
    _sparse_vs_reference(enc, x, edge_index, x_input=x.to_sparse_csr())  # torch sparse features


def test_sparse_first_layer_is_used_below_the_density_threshold(monkeypatch):
    from graphcl.nn import sparse as sparse_module

    calls = []
    original = sparse_module.SparseMatrix.from_dense
    monkeypatch.setattr(sparse_module.SparseMatrix, "from_dense", lambda x: calls.append(x) or original(x))
    x = torch.zeros(10, 20)
    x[torch.arange(10), torch.arange(10)] = 1.0  # 5 % non-zero
    edge_index = torch.tensor([[0, 1], [1, 0]])
    enc = GCNEncoder(20, 4)
    enc(x, edge_index)
    enc(x, edge_index)  # the same tensor again: converted once
    assert len(calls) == 1
    GCNEncoder(20, 4, sparse_feature_density=0.01)(x, edge_index)  # above its threshold: stays dense
    assert len(calls) == 1
    with pytest.raises(ValueError, match="sparse_feature_density"):
        GCNEncoder(20, 4, sparse_feature_density=1.5)


def test_encoder_with_feature_cache_pickles():
    import pickle

    enc = GCNEncoder(5, 4)
    x, ei = small_graph()
    x = x * (torch.rand_like(x) < 0.05)
    out = enc(x, ei)
    clone = pickle.loads(pickle.dumps(enc))
    assert torch.allclose(clone(x, ei), out)


def test_zero_or_non_int_sizes_name_the_argument_instead_of_falling_back():
    with pytest.raises(ValueError, match="hidden_channels"):
        GCNEncoder(5, 4, hidden_channels=0)  # was: silently 2 * out_channels
    with pytest.raises(ValueError, match="out_channels"):
        GCNEncoder(5, 4.0)
    with pytest.raises(ValueError, match="out_channels"):
        ProjectionHead(8, 4, out_channels=0)  # was: silently in_channels
    with pytest.raises(ValueError, match="hidden_channels"):
        ProjectionHead(8, 0)
    assert GCNEncoder(5, 4, hidden_channels=3).gnn.convs[0].out_channels == 3
    assert ProjectionHead(8, 4).fc2.out_features == 8
