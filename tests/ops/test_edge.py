import pytest
import torch

from graphcl.ops import edge_dot


def _plain(x, y, edge_index):
    return (x[edge_index[0]] * y[edge_index[1]]).sum(1)


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 1000])
@pytest.mark.parametrize("same", [True, False])
def test_edge_dot_matches_gather_values_and_gradients(chunk_size, same):
    g = torch.Generator().manual_seed(chunk_size)
    n, m, d, e = 9, 9 if same else 6, 5, 23
    edge_index = torch.stack([torch.randint(0, n, (e,), generator=g), torch.randint(0, m, (e,), generator=g)])
    edge_index[:, :3] = torch.tensor([[0, 0, 4], [0, 0, 1]])  # a repeated edge and (when same) a self pair
    x = torch.randn(n, d, generator=g, requires_grad=True)
    y = x if same else torch.randn(m, d, generator=g, requires_grad=True)
    weight = torch.randn(e, generator=g)

    out = edge_dot(x, y, edge_index, chunk_size)
    (out * weight).sum().backward()
    grads = (x.grad.clone(), None if same else y.grad.clone())
    x.grad = None
    if not same:
        y.grad = None
    ref = _plain(x, y, edge_index)
    (ref * weight).sum().backward()
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(grads[0], x.grad)
    if not same:
        torch.testing.assert_close(grads[1], y.grad)


def test_edge_dot_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    edge_index = torch.tensor([[0, 1, 2, 2, 3, 0], [1, 0, 2, 3, 1, 1]])
    x = torch.randn(4, 3, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.randn(5, 3, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: edge_dot(a, b, edge_index, 4), (x, y))
    assert torch.autograd.gradcheck(lambda a: edge_dot(a, a, edge_index, 2), (x,))


def test_edge_dot_one_side_without_grad_and_empty_graph():
    x = torch.randn(4, 3, requires_grad=True)
    y = torch.randn(4, 3)
    edge_index = torch.tensor([[0, 3, 3], [1, 2, 2]])
    edge_dot(x, y, edge_index).sum().backward()
    torch.testing.assert_close(x.grad, torch.zeros(4, 3).index_add_(0, edge_index[0], y[edge_index[1]]))
    empty = edge_dot(x, y, torch.empty(2, 0, dtype=torch.long))
    assert empty.shape == (0,)


def test_edge_dot_bad_input():
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match="feature dimension"):
        edge_dot(x, torch.randn(4, 2), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match=r"edge_index\[1\] refers to row 7"):
        edge_dot(x, x, torch.tensor([[0], [7]]))
    with pytest.raises(ValueError, match="int64"):
        edge_dot(x, x, torch.tensor([[0], [1]], dtype=torch.int32))
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        edge_dot(x, x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="chunk_size"):
        edge_dot(x, x, torch.tensor([[0], [1]]), 0)
    with pytest.raises(ValueError, match="dtype"):
        edge_dot(x, x.double(), torch.tensor([[0], [1]]))


@pytest.mark.parametrize("same", [True, False])
def test_edge_dot_normalize_matches_cosine_of_normalized_rows(same):
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(1)
    n, d, e = 8, 4, 30
    edge_index = torch.stack([torch.randint(0, n, (e,), generator=g), torch.randint(0, n, (e,), generator=g)])
    x = torch.randn(n, d, generator=g) * torch.linspace(0.05, 3.0, n).unsqueeze(1)
    x[5] = 0.1 * x[5] / x[5].norm()  # norm 0.1 < eps below: clamped, scaled by the constant 1/eps
    x.requires_grad_()
    y = x if same else (torch.randn(n, d, generator=g) * 2).requires_grad_()
    weight = torch.randn(e, generator=g)
    for eps in (1e-12, 0.5):
        out = edge_dot(x, y, edge_index, 7, normalize=True, eps=eps)
        got = torch.autograd.grad((out * weight).sum(), (x,) if same else (x, y))
        ref = _plain(F.normalize(x, dim=1, eps=eps), F.normalize(y, dim=1, eps=eps), edge_index)
        want = torch.autograd.grad((ref * weight).sum(), (x,) if same else (x, y))
        torch.testing.assert_close(out, ref)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b)


def test_edge_dot_normalize_gradcheck_float64():
    g = torch.Generator().manual_seed(2)
    edge_index = torch.tensor([[0, 1, 2, 2, 3, 0, 3], [1, 0, 2, 3, 1, 1, 3]])
    x = torch.randn(4, 3, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.randn(5, 3, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: edge_dot(a, b, edge_index, 3, normalize=True), (x, y))
    assert torch.autograd.gradcheck(lambda a: edge_dot(a, a, edge_index, 2, normalize=True), (x,))
    with torch.no_grad():
        x[1] *= 0.1 / x[1].norm()  # inside the clamped region of eps = 0.5
    assert torch.autograd.gradcheck(lambda a: edge_dot(a, a, edge_index, 2, normalize=True, eps=0.5), (x,))
