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
