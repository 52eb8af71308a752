"""The generated sequence dataset: latent item clusters, drifting user interests, titled items.

The embedded default of :mod:`recsys` (no files needed): small enough for CI, with real sequential
structure so that an order-aware model beats popularity and augmentation matters.
"""
from __future__ import annotations

import numpy as np
import torch

from recsys.data.sequences import SequenceDataset

__all__ = ["make_sequence_dataset"]

_SYLLABLES = ("ka", "lo", "mi", "ra", "su", "te", "vi", "no", "pe", "da", "zo", "ri", "fa", "gu", "be", "xi")
_NOUNS = ("serum", "lotion", "brush", "palette", "cream", "mask", "shampoo", "polish", "tent", "glove",
          "racket", "bottle", "lamp", "kettle", "notebook", "jacket", "sneaker", "helmet", "blanket", "candle")


def make_sequence_dataset(
    num_users: int = 2000,
    num_items: int = 600,
    num_clusters: int = 20,
    seed: int = 0,
    *,
    mean_length: float = 12.0,
    min_length: int = 5,
    max_length: int = 60,
    drift_prob: float = 0.15,
    successor_prob: float = 0.6,
    popularity_exponent: float = 1.0,
    vocab_size: int = 6,
    titles: bool = True,
) -> SequenceDataset:
    r"""Samples user sequences over items grouped in latent clusters with drifting interests.

    Items are split into ``num_clusters`` clusters of (nearly) equal size; inside cluster :math:`c` item
    popularity is Zipfian with exponent ``popularity_exponent``, and the items are chained in a fixed random
    order (each item has a *successor*). A user starts in a random cluster and at every step

    * with probability ``drift_prob`` drifts to a neighbouring cluster (:math:`c \pm 1` on a ring, so
      interests move gradually rather than jumping), then picks an item by popularity;
    * otherwise stays, and with probability ``successor_prob`` consumes the successor of the previous item,
      else a popularity draw from the current cluster.

    Lengths are ``min_length + Geometric`` with mean ``mean_length``, capped at ``max_length``. Every item
    id ``1..num_items`` gets a title built from its cluster's vocabulary (``vocab_size`` pseudo-words plus a
    category noun) and a per-item model number, so that text-based (semantic) models have meaningful input:
    items of one cluster share words and a noun. The pseudo-words are drawn at random per cluster, so two
    clusters can share one by chance (with the defaults 4 of the 190 cluster pairs do, none of them neighbours
    on the ring); the nouns differ between clusters as long as ``num_clusters <= 20``.

    All randomness comes from ``numpy.random.default_rng(seed)``; global RNGs are untouched. Simulation is
    vectorised over users (one step of all users at a time; a popularity draw is a binary search in the CDF of
    the user's cluster), so time and memory grow linearly in ``num_users * max_length`` and the catalogue size
    only enters through the per-cluster tables: 10^6 users take seconds. Titles are drawn item by item, last
    (about 3 s per 10^5 items); ``titles=False`` skips them and leaves the sequences unchanged.

    Args:
        num_users: Users (2000).
        num_items: Items (600), ids ``1..num_items``.
        num_clusters: Latent item clusters (20).
        seed: Seed of the generator (0).
        mean_length: Mean sequence length (12).
        min_length: Shortest sequence (5).
        max_length: Longest sequence (60).
        drift_prob: Probability of moving to a neighbouring cluster at a step (0.15).
        successor_prob: Probability of consuming the previous item's successor when not drifting (0.6).
        popularity_exponent: Zipf exponent of the popularity inside a cluster (1).
        vocab_size: Pseudo-words per cluster for the titles (6).
        titles: Draw the item titles (``True``); ``False`` leaves ``item_titles`` ``None`` (large catalogues for
            benchmarks that read no text).

    Returns:
        A :class:`~recsys.data.sequences.SequenceDataset` named ``"generated"`` with ``item_titles``.
    """
    if num_items < num_clusters or num_clusters < 1:
        raise ValueError(f"need num_items >= num_clusters >= 1, got {num_items} items, {num_clusters} clusters")
    if not 1 <= min_length <= max_length:
        raise ValueError(f"need 1 <= min_length <= max_length, got {min_length}, {max_length}")
    rng = np.random.default_rng(seed)
    cluster_of = rng.permutation(np.arange(num_items) % num_clusters)  # item (0-based) -> cluster
    members = [np.flatnonzero(cluster_of == c) for c in range(num_clusters)]
    # Per cluster: its members in popularity order, their popularity CDF, and the successor chain.
    ranked: list[np.ndarray] = []
    cdfs: list[np.ndarray] = []
    successor = np.zeros(num_items, dtype=np.int64)
    for m in members:
        m = rng.permutation(m)
        ranked.append(m)
        weights = 1.0 / np.arange(1, len(m) + 1) ** popularity_exponent
        cdfs.append(np.cumsum(weights) / weights.sum())
        chain = rng.permutation(m)
        successor[chain] = np.roll(chain, -1)

    extra = rng.geometric(1.0 / max(mean_length - min_length + 1, 1.0), size=num_users) - 1
    lengths = np.minimum(min_length + extra, max_length)
    dtype = np.int32 if num_items < 2**31 else np.int64
    seqs = np.zeros((num_users, max_length), dtype=dtype)
    successor = successor.astype(dtype)
    cluster = rng.integers(num_clusters, size=num_users)

    def popular(c: np.ndarray) -> np.ndarray:
        """One popularity draw per user from cluster ``c[user]``: the first item whose CDF value reaches u."""
        u = rng.random(len(c))
        out = np.empty(len(c), dtype=dtype)
        order = np.argsort(c, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(c, minlength=num_clusters))])
        for k in np.flatnonzero(np.diff(bounds)):
            users = order[bounds[k]:bounds[k + 1]]
            col = np.searchsorted(cdfs[k], u[users], side="left").clip(max=len(ranked[k]) - 1)
            out[users] = ranked[k][col]
        return out

    seqs[:, 0] = popular(cluster)
    for t in range(1, max_length):
        drift = rng.random(num_users) < drift_prob
        cluster = np.where(drift, (cluster + rng.choice([-1, 1], size=num_users)) % num_clusters, cluster)
        follow = ~drift & (rng.random(num_users) < successor_prob)
        seqs[:, t] = np.where(follow, successor[seqs[:, t - 1]], popular(cluster))
    mask = np.arange(max_length)[None, :] < lengths[:, None]
    items = torch.from_numpy(seqs[mask].astype(np.int64) + 1)
    del seqs, mask
    offsets = torch.zeros(num_users + 1, dtype=torch.long)
    offsets[1:] = torch.from_numpy(lengths).cumsum(0)
    if not titles:
        return SequenceDataset(
            name="generated", items=items, offsets=offsets, user_ids=[str(u + 1) for u in range(num_users)],
            num_items=num_items, source=_source(num_users, num_items, num_clusters, seed, titles=False),
        )

    vocab = [[_word(rng) for _ in range(vocab_size)] for _ in range(num_clusters)]
    nouns = [_NOUNS[c % len(_NOUNS)] for c in range(num_clusters)]
    titles = [""]
    for item in range(num_items):
        c = cluster_of[item]
        words = rng.choice(vocab[c], size=2, replace=False)
        titles.append(f"{words[0].capitalize()} {words[1]} {nouns[c]} {rng.integers(100, 1000)}")
    return SequenceDataset(
        name="generated", items=items, offsets=offsets, user_ids=[str(u + 1) for u in range(num_users)],
        num_items=num_items, item_titles=titles,
        source=_source(num_users, num_items, num_clusters, seed),
    )


def _source(num_users: int, num_items: int, num_clusters: int, seed: int, *, titles: bool = True) -> str:
    return (f"generated(num_users={num_users}, num_items={num_items}, num_clusters={num_clusters}, seed={seed}"
            + ("" if titles else ", titles=False") + ")")


def _word(rng: np.random.Generator) -> str:
    return "".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 4))))
