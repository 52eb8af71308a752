"""HeCo and DMGI: neighbour sampling, positive selection, the model losses against naive references, embeddings."""
import pytest
import torch
import torch.nn.functional as F

from graphcl.errors import DataError
from graphcl.models import DMGI, MODELS, HeCo
from graphcl.models.heco import metapath_count_positives, normalized_metapath_operators
from graphcl.nn.heco import NeighbourSampler
from tests.hetero_graphs import planted_hetero_graph


def test_neighbour_sampler_follows_the_authors_rule():
    # node 0: 5 neighbours, node 1: 2, node 2: none, node 3: 3 (= k)
    edges = torch.tensor([[0, 0, 0, 0, 0, 1, 1, 3, 3, 3], [4, 5, 6, 7, 8, 1, 2, 0, 1, 2]])
    sampler = NeighbourSampler(edges, 4)
    generator = torch.Generator().manual_seed(0)
    seen_for_0 = set()
    for _ in range(50):
        index, mask = sampler.sample(3, generator)
        assert index.shape == (4, 3) and mask.tolist() == [True, True, False, True]
        assert len(set(index[0].tolist())) == 3 and set(index[0].tolist()) <= {4, 5, 6, 7, 8}  # no replacement
        assert set(index[1].tolist()) <= {1, 2}  # with replacement
        assert sorted(index[3].tolist()) == [0, 1, 2]
        seen_for_0 |= set(index[0].tolist())
    assert seen_for_0 == {4, 5, 6, 7, 8}


def test_metapath_count_positives_match_a_brute_force_selection():
    data = planted_hetero_graph(num_papers=30, num_authors=20)
    n, k = 30, 4
    score = torch.zeros(n, n, dtype=torch.float64)
    for spec in data.metapath_specs:
        dense = torch.zeros(n, n, dtype=torch.float64)
        edge_index = data["paper", spec.name, "paper"].edge_index
        dense[edge_index[0], edge_index[1]] = 1.0
        score += dense / dense.sum(1, keepdim=True)
    expected = set()
    for i in range(n):
        candidates = sorted((-float(score[i, j]), j) for j in range(n) if score[i, j] > 0)
        expected |= {(i, j) for _, j in candidates[:k]}
    pairs = metapath_count_positives(data, k)
    assert set(map(tuple, pairs.t().tolist())) == expected
    assert torch.equal(pairs, pairs[:, torch.argsort(pairs[0] * n + pairs[1])])


def heco_on_planted(**kwargs):
    data = planted_hetero_graph()
    config = dict(hidden_channels=8, neighbour_types=["author", "subject"], neighbour_samples=[2, 1],
                  positives="metapath_count", num_positives=3)
    config.update(kwargs)
    model = HeCo.build(data, **config)
    return model, model.prepare(data)


def test_heco_loss_equals_the_naive_composition_of_its_parts():
    torch.manual_seed(0)
    model, data = heco_on_planted(feat_drop=0.0, attn_drop=0.0)
    inputs = model._inputs
    state = torch.get_rng_state()
    loss = model(data)
    torch.set_rng_state(state)  # the same neighbour samples again
    h = {t: F.elu(model.projection.linears[t](x.to_dense() if x.is_sparse else x))
         for t, x in inputs["features"].items()}
    views = []
    for layer, operator in zip(model.metapath_view.layers, inputs["operators"]):
        dense = operator.matrix.to_dense()
        views.append(F.prelu(dense @ (h["paper"] @ layer.lin.weight.t()) + layer.bias, layer.act.weight))
    z_mp = _semantic(model.metapath_view.attention, views)
    per_type = []
    for t, k in zip(["author", "subject"], [2, 1]):
        index, mask = inputs["samplers"][t].sample(k)
        att = model.schema_view.intra[t].att.squeeze(0)
        neighbours = h[t][index]
        pairs = torch.cat([h["paper"].unsqueeze(1).expand_as(neighbours), neighbours], dim=2)
        alpha = torch.softmax(F.leaky_relu(pairs @ att, 0.01), dim=1)
        per_type.append(F.elu((alpha.unsqueeze(2) * neighbours).sum(1)) * mask.unsqueeze(1))
    z_sc = _semantic(model.schema_view.inter, per_type)
    head = model.head
    u, v = head.fc2(F.elu(head.fc1(z_mp))), head.fc2(F.elu(head.fc1(z_sc)))
    sim = torch.exp(F.cosine_similarity(u.unsqueeze(1), v.unsqueeze(0), dim=2) / model.loss.tau)
    mask = torch.zeros_like(sim)
    mask[inputs["positive_index"][0], inputs["positive_index"][1]] = 1
    loss_mp = -torch.log((sim / sim.sum(1, keepdim=True) * mask).sum(1)).mean()
    loss_sc = -torch.log((sim.t() / sim.t().sum(1, keepdim=True) * mask).sum(1)).mean()
    torch.testing.assert_close(loss, 0.5 * loss_mp + 0.5 * loss_sc, rtol=1e-4, atol=1e-5)


def _semantic(attention, views):
    weights = torch.stack([(torch.tanh(attention.fc(v)).mean(0) * attention.query.squeeze(0)).sum() for v in views])
    beta = torch.softmax(weights, 0)
    return sum(b * v for b, v in zip(beta, views))


def test_heco_trains_and_embeds_the_meta_path_view_in_eval_mode():
    torch.manual_seed(0)
    model, data = heco_on_planted()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.zero_grad()
        loss = model(data)
        loss.backward()
        optimizer.step()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.schema_view.parameters())
    z = model.embed(data)
    assert z.shape == (60, 8) and torch.equal(z, model.embed(data)) and model.training
    assert torch.equal(z, model.embed(planted_hetero_graph()))  # any graph with the same content: the same z


def test_heco_needs_positives_and_a_prepared_graph():
    data = planted_hetero_graph()
    model = HeCo.build(data, hidden_channels=8, neighbour_samples=[2])
    with pytest.raises(DataError, match="pos.npz"):
        model.prepare(data)
    with pytest.raises(DataError, match="prepare"):
        model(data)


def dense_operators(data, weight):
    return [op.matrix.to_dense() for op in normalized_metapath_operators(data, weight)]


def test_dmgi_operators_add_the_self_connection_weight_before_normalising():
    data = planted_hetero_graph()
    edge_index = data["paper", "PAP", "paper"].edge_index
    adjacency = torch.zeros(60, 60)
    adjacency[edge_index[0], edge_index[1]] = 1.0
    adjacency += 3.0 * torch.eye(60)
    degree = adjacency.sum(1).pow(-0.5)
    torch.testing.assert_close(dense_operators(data, 3.0)[0], degree[:, None] * adjacency * degree[None, :])


@pytest.mark.parametrize("attention, shared", [(True, True), (False, False)])
def test_dmgi_loss_equals_a_naive_reference(attention, shared):
    data = planted_hetero_graph()
    torch.manual_seed(0)
    model = DMGI.build(data, hidden_channels=8, dropout=0.0, attention=attention, shared_discriminator=shared)
    model.prepare(data)
    torch.manual_seed(1)
    parts = model(data)
    torch.manual_seed(1)
    permutation = torch.randperm(60)
    x = data["paper"].x
    clean, corrupted, infomax = [], [], 0.0
    for r, (adj, linear) in enumerate(zip(dense_operators(data, 3.0), model.encoders)):
        h = torch.relu(adj @ x @ linear.weight.t())
        h_tilde = torch.relu(adj @ x[permutation] @ linear.weight.t())
        s = torch.sigmoid(h.mean(0))
        disc = model.discriminators[0 if shared else r]
        w = disc.weight[0]
        logits = torch.cat([h @ w @ s, h_tilde @ w @ s]) + disc.bias
        labels = torch.cat([torch.ones(60), torch.zeros(60)])
        infomax = infomax + F.binary_cross_entropy_with_logits(logits, labels)
        clean.append(h)
        corrupted.append(h_tilde)

    def aggregate(hs):
        if not attention:
            return sum(hs) / len(hs)
        scores = torch.stack([layer(h).squeeze(1) for layer, h in zip(model.attention, hs)], 1)
        a = torch.softmax(scores, 1)
        return sum(a[:, r:r + 1] * h for r, h in enumerate(hs))

    z = model.consensus
    consensus = ((z - aggregate(clean)) ** 2).sum() - ((z - aggregate(corrupted)) ** 2).sum()
    torch.testing.assert_close(parts["infomax"], infomax, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(parts["consensus"], 0.001 * consensus, rtol=1e-4, atol=1e-6)
    assert torch.equal(model.embed(data), model.consensus.detach())


def test_dmgi_consensus_starts_with_the_authors_scale():
    model = DMGI.build(planted_hetero_graph(), hidden_channels=8)
    expected = (2.0 / (8 * 61)) ** 0.5  # xavier-normal of a [1, N, d] tensor
    assert abs(model.consensus.std().item() - expected) < 0.25 * expected


def test_both_are_registered_heterogeneous_models():
    assert MODELS["heco"] is HeCo and MODELS["dmgi"] is DMGI
    assert HeCo.heterogeneous and DMGI.heterogeneous
