"""The generated community graph: a planted-partition benchmark that needs no files.

Communities of deliberately different strengths (a degree-corrected stochastic block model with a
per-community mixing parameter, in the spirit of the LFR benchmark, Lancichinetti et al., Phys. Rev. E 78,
2008) carry class labels in groups, and nodes carry class- and community-correlated binary bag-of-words
features. It is the library's embedded default dataset: small enough for CI, hard enough that structure
matters, and with the uneven community strengths that CSGCL (Chen et al., AAAI 2023) is about.
"""
from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

__all__ = ["make_community_graph"]


def make_community_graph(
    num_nodes: int = 3000,
    num_communities: int = 30,
    num_classes: int = 6,
    num_features: int = 500,
    seed: int = 0,
    *,
    avg_degree: float = 6.0,
    mixing_range: tuple[float, float] = (0.05, 0.9),
    density_ratio: float = 1.0,
    size_spread: float = 1.0,
    min_community_size: int = 10,
    class_vocab_size: int = 30,
    class_word_prob: float = 0.05,
    community_vocab_size: int = 10,
    community_word_prob: float = 0.08,
    noise_word_prob: float = 0.012,
) -> Data:
    r"""Samples an undirected planted-community graph with class-correlated sparse binary features.

    Community sizes are heavy-tailed: every community gets ``min_community_size`` nodes and the rest are
    spread multinomially with log-normal weights of log-scale ``size_spread``. Community :math:`k` has a
    strength :math:`\mu_k` (the expected fraction of its members' edges that stay inside it), stratified
    uniformly over ``mixing_range`` so that every graph holds both strong and weak communities. With
    expected degree :math:`d` and sizes :math:`n_k`, pairs are connected independently with

    .. math::
        p_{kk} = \frac{\mu_k d}{n_k - 1}, \qquad
        p_{kl} = \frac{E_k E_l}{n_k n_l \sum_m E_m}, \quad E_k = (1 - \mu_k)\, d\, n_k,

    i.e. internal density follows the strength and inter-community edges follow a Chung-Lu model over
    the communities' external degrees, so a weak community is barely denser than the background.

    With ``density_ratio`` :math:`r > 1` the communities also differ in density: community :math:`k` gets its
    own expected degree :math:`d_k = d\, r^{u_k - 1/2}` in place of :math:`d` above, where :math:`u_k \in [0, 1)`
    is its position in the strength range (:math:`\mu_k = \mu_{low} + (\mu_{high} - \mu_{low}) u_k`). The
    strongest community is then :math:`r` times denser than the weakest, :math:`d` is the geometric centre of
    the degrees, and the spread of CSGCL's community strengths (each community's modularity term) grows with
    :math:`r`: dense strong communities hold a large share of the edges, weak sparse ones almost none.
    Edge counts per block are Binomial and endpoints are drawn uniformly inside the block (linear in
    the number of edges, never an :math:`N \times N` matrix); the rare duplicate pair is merged.

    Classes are groups of communities (community :math:`k` gets class ``perm[k] % num_classes``, so
    every class is non-empty). A node's words are the union of three draws: from its class's vocabulary
    (``class_vocab_size`` words, rate ``class_word_prob``), its community's vocabulary
    (``community_vocab_size`` words, ``community_word_prob``) and background noise over the whole
    vocabulary (``noise_word_prob``). Each class / community draw takes :math:`K \sim \mathrm{Binomial}(V, q)`
    word slots of a :math:`V`-word vocabulary uniformly *with replacement* (the noise draw likewise takes
    :math:`\mathrm{Binomial}(NF, q)` entries of the whole :math:`N \times F` matrix), so a given word is present
    with probability :math:`1 - (1 - q/V)^V \approx q - q^2/2` (e.g. 0.0488 for :math:`q = 0.05`, :math:`V = 30`),
    slightly below the rate :math:`q`. With the defaults a logistic regression on the raw features reaches roughly 50-60% accuracy
    (6 classes), and averaging over neighbours helps.

    All randomness comes from ``numpy.random.default_rng(seed)``; the global RNGs are never touched,
    and the same arguments give identical tensors. Node ids are shuffled, so communities are not
    contiguous id ranges.

    Args:
        num_nodes: Number of nodes :math:`N`. (default: ``3000``)
        num_communities: Number of planted communities :math:`K`. (default: ``30``)
        num_classes: Number of classes, at most ``num_communities``. (default: ``6``)
        num_features: Vocabulary size (feature dimension). (default: ``500``)
        seed: Seed of the generator. (default: ``0``)
        avg_degree: Expected average degree :math:`d`. (default: ``6.0``)
        mixing_range: Range ``(low, high)`` of community strengths :math:`\mu_k`, within ``[0, 1]``.
            (default: ``(0.05, 0.9)``)
        density_ratio: Expected degree of the strongest community over that of the weakest, ``>= 1``;
            ``1`` gives every community the degree ``avg_degree`` (same graph as before this option).
            (default: ``1.0``)
        size_spread: Log-scale of the log-normal community-size weights; ``0`` gives near-equal
            sizes. (default: ``1.0``)
        min_community_size: Smallest community size; lowered to ``num_nodes // num_communities``
            when the nodes do not suffice. (default: ``10``)
        class_vocab_size: Words per class vocabulary. (default: ``30``)
        class_word_prob: Probability of each class word. (default: ``0.05``)
        community_vocab_size: Words per community vocabulary. (default: ``10``)
        community_word_prob: Probability of each community word. (default: ``0.08``)
        noise_word_prob: Probability of each vocabulary word as background noise. (default: ``0.012``)

    Returns:
        A :class:`~torch_geometric.data.Data` with ``x`` (``[N, num_features]`` float, binary),
        ``edge_index`` (``[2, E]``, both directions, coalesced, no self-loops), ``y`` (``[N]`` long),
        ``community`` (``[N]`` long planted community id) and ``num_nodes``.

    Raises:
        ValueError: An argument is out of range (e.g. more classes than communities).
        TypeError: A count or the seed is not an integer.
    """
    _check_arguments(
        num_nodes=num_nodes, num_communities=num_communities, num_classes=num_classes,
        num_features=num_features, seed=seed, avg_degree=avg_degree, mixing_range=mixing_range,
        density_ratio=density_ratio, size_spread=size_spread, min_community_size=min_community_size,
        class_vocab_size=class_vocab_size, community_vocab_size=community_vocab_size,
        probabilities={"class_word_prob": class_word_prob,
                       "community_word_prob": community_word_prob,
                       "noise_word_prob": noise_word_prob},
    )
    rng = np.random.default_rng(seed)

    sizes = _community_sizes(rng, num_nodes, num_communities, size_spread, min_community_size)
    # Stratified draw: one strength per equal-width slice of the range, so the spread never collapses.
    low, high = mixing_range
    slices = (rng.permutation(num_communities) + rng.random(num_communities)) / num_communities
    strength = low + (high - low) * slices
    degree = avg_degree * density_ratio ** (slices - 0.5)  # all avg_degree when density_ratio == 1

    # Nodes are laid out community by community, then relabelled by a random permutation at the end.
    community_sorted = np.repeat(np.arange(num_communities), sizes)
    src, dst = _sample_edges(rng, sizes, strength, degree)

    class_of_community = rng.permutation(num_communities) % num_classes
    labels_sorted = class_of_community[community_sorted]
    x_sorted = _sample_features(
        rng, labels_sorted, community_sorted, num_features, num_classes, num_communities,
        class_vocab_size, class_word_prob, community_vocab_size, community_word_prob, noise_word_prob,
    )

    new_id = rng.permutation(num_nodes)
    order = np.argsort(new_id)  # order[new] = old
    edge_index = torch.from_numpy(np.stack([new_id[src], new_id[dst]])).long()
    edge_index = to_undirected(edge_index, num_nodes=num_nodes)
    return Data(
        x=torch.from_numpy(x_sorted[order]),
        edge_index=edge_index,
        y=torch.from_numpy(labels_sorted[order]).long(),
        community=torch.from_numpy(community_sorted[order]).long(),
        num_nodes=num_nodes,
    )


def _check_arguments(
    *,
    num_nodes: int,
    num_communities: int,
    num_classes: int,
    num_features: int,
    seed: int,
    avg_degree: float,
    mixing_range: tuple[float, float],
    density_ratio: float,
    size_spread: float,
    min_community_size: int,
    class_vocab_size: int,
    community_vocab_size: int,
    probabilities: dict[str, float],
) -> None:
    integers = {
        "num_nodes": num_nodes, "num_communities": num_communities, "num_classes": num_classes,
        "num_features": num_features, "seed": seed, "min_community_size": min_community_size,
        "class_vocab_size": class_vocab_size, "community_vocab_size": community_vocab_size,
    }
    for key, value in integers.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise TypeError(f"make_community_graph: {key} must be an int, got {value!r}")
    if num_communities < 1:
        raise ValueError(f"make_community_graph: num_communities must be >= 1, got {num_communities}")
    if not 1 <= num_classes <= num_communities:
        raise ValueError(
            f"make_community_graph: num_classes must be between 1 and num_communities "
            f"({num_communities}) because every class is a group of communities, got {num_classes}"
        )
    if num_nodes < 2 * num_communities:
        raise ValueError(
            f"make_community_graph: num_nodes ({num_nodes}) must be at least 2 * num_communities "
            f"({2 * num_communities}) so that every community has two members"
        )
    if num_features < 1:
        raise ValueError(f"make_community_graph: num_features must be >= 1, got {num_features}")
    if seed < 0:
        raise ValueError(f"make_community_graph: seed must be >= 0, got {seed}")
    if min_community_size < 2:
        raise ValueError(
            f"make_community_graph: min_community_size must be >= 2, got {min_community_size}"
        )
    for key, value in (("class_vocab_size", class_vocab_size),
                       ("community_vocab_size", community_vocab_size)):
        if not 0 <= value <= num_features:
            raise ValueError(
                f"make_community_graph: {key} must be between 0 and num_features ({num_features}), "
                f"got {value}"
            )
    if not np.isfinite(avg_degree) or avg_degree <= 0:
        raise ValueError(f"make_community_graph: avg_degree must be > 0, got {avg_degree}")
    if avg_degree > num_nodes - 1:
        raise ValueError(
            f"make_community_graph: avg_degree ({avg_degree}) cannot exceed num_nodes - 1 "
            f"({num_nodes - 1})"
        )
    if (len(mixing_range) != 2 or not 0.0 <= mixing_range[0] <= mixing_range[1] <= 1.0):
        raise ValueError(
            f"make_community_graph: mixing_range must be (low, high) with 0 <= low <= high <= 1, "
            f"got {mixing_range!r}"
        )
    if not np.isfinite(density_ratio) or density_ratio < 1:
        raise ValueError(f"make_community_graph: density_ratio must be a finite number >= 1, got {density_ratio}")
    if not np.isfinite(size_spread) or size_spread < 0:
        raise ValueError(f"make_community_graph: size_spread must be >= 0, got {size_spread}")
    for key, value in probabilities.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"make_community_graph: {key} must be in [0, 1], got {value}")


def _community_sizes(
    rng: np.random.Generator, num_nodes: int, num_communities: int, spread: float, min_size: int,
) -> np.ndarray:
    min_size = min(min_size, num_nodes // num_communities)
    weights = rng.lognormal(mean=0.0, sigma=spread, size=num_communities)
    extra = rng.multinomial(num_nodes - min_size * num_communities, weights / weights.sum())
    return min_size + extra


def _sample_edges(
    rng: np.random.Generator, sizes: np.ndarray, strength: np.ndarray, degree: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One direction of every sampled edge (``src``, ``dst`` in community-sorted ids); ``degree[k]`` is
    community k's expected node degree."""
    num_communities = sizes.size
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])

    inner_pairs = sizes * (sizes - 1) // 2
    p_inner = np.minimum(strength * degree / (sizes - 1), 1.0)
    inner_counts = rng.binomial(inner_pairs, p_inner)

    # Chung-Lu over communities: block (k, l) gets E_k E_l / sum(E) expected edges.
    external = (1.0 - strength) * degree * sizes
    block_a, block_b = np.triu_indices(num_communities, k=1)
    outer_pairs = sizes[block_a] * sizes[block_b]
    expected = external[block_a] * external[block_b] / max(external.sum(), 1e-12)
    p_outer = np.minimum(expected / outer_pairs, 1.0)
    outer_counts = rng.binomial(outer_pairs, p_outer)

    # Internal edges: the second endpoint is offset by 1..n-1 inside the community, so never a loop.
    inner_block = np.repeat(np.arange(num_communities), inner_counts)
    n_inner = sizes[inner_block]
    first = np.floor(rng.random(inner_block.size) * n_inner).astype(np.int64)
    offset = 1 + np.floor(rng.random(inner_block.size) * (n_inner - 1)).astype(np.int64)
    inner_src = starts[inner_block] + first
    inner_dst = starts[inner_block] + (first + offset) % n_inner

    outer_a = np.repeat(block_a, outer_counts)
    outer_b = np.repeat(block_b, outer_counts)
    outer_src = starts[outer_a] + np.floor(rng.random(outer_a.size) * sizes[outer_a]).astype(np.int64)
    outer_dst = starts[outer_b] + np.floor(rng.random(outer_b.size) * sizes[outer_b]).astype(np.int64)
    return np.concatenate([inner_src, outer_src]), np.concatenate([inner_dst, outer_dst])


def _sample_features(
    rng: np.random.Generator,
    labels: np.ndarray,
    community: np.ndarray,
    num_features: int,
    num_classes: int,
    num_communities: int,
    class_vocab_size: int,
    class_word_prob: float,
    community_vocab_size: int,
    community_word_prob: float,
    noise_word_prob: float,
) -> np.ndarray:
    num_nodes = labels.size
    class_vocab = np.stack([rng.choice(num_features, class_vocab_size, replace=False)
                            for _ in range(num_classes)])
    community_vocab = np.stack([rng.choice(num_features, community_vocab_size, replace=False)
                                for _ in range(num_communities)])

    def group_words(group: np.ndarray, vocab: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
        # Sampling word slots with replacement; a repeated slot only merges into one word.
        counts = rng.binomial(vocab.shape[1], prob, size=num_nodes)
        node = np.repeat(np.arange(num_nodes), counts)
        slot = np.floor(rng.random(node.size) * vocab.shape[1]).astype(np.int64)
        return node, vocab[group[node], slot]

    noise_count = rng.binomial(num_nodes * num_features, noise_word_prob)
    noise_node = rng.integers(0, num_nodes, size=noise_count)
    noise_word = rng.integers(0, num_features, size=noise_count)
    class_node, class_word = group_words(labels, class_vocab, class_word_prob)
    comm_node, comm_word = group_words(community, community_vocab, community_word_prob)

    x = np.zeros((num_nodes, num_features), dtype=np.float32)
    x[np.concatenate([noise_node, class_node, comm_node]),
      np.concatenate([noise_word, class_word, comm_word])] = 1.0
    return x
