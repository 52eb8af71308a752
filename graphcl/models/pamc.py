"""PamC — `"Efficient block contrastive learning via parameter-free meta-node approximation"
<https://arxiv.org/abs/2209.14067>`_ (Kulatilleke, Portmann & Chandra, 2022) — and its exact-loss baseline SCGC*
(`"Self-supervised contrastive graph clustering" <https://arxiv.org/abs/2204.12656>`_, the MLP-only "SCGC_TRIM").

Both are deep-clustering models without any GNN layer: the graph enters only through the loss.

* Encoder: the SDCN MLP ``F → 500 → 500 → 2000 → 10`` (:class:`~graphcl.nn.autoencoder.MLPAutoEncoder`),
  pre-trained as an autoencoder (reconstruction MSE, Adam 1e-3, batch 256) by :meth:`PamC.prepare`, before
  training; the decoder is then unused. (The authors load SDCN's pre-trained ``.pkl`` weights, which are not available.)
* Clustering head: DEC's Student-t soft assignment ``Q`` with centroids initialised by k-means on the
  pre-trained embeddings (:class:`~graphcl.nn.dec.StudentTClustering`); target ``P`` recomputed every epoch
  (update interval 1) from the current model, held constant.
* Positives: the sparse influence matrix :math:`\\hat{A}_r = \\sum_{t \\le r} (D^{-1}(A+I))^t`
  (:func:`graphcl.functional.influence_matrix`), computed once per graph by :meth:`PamC.prepare`.
* Loss per epoch (full batch):

.. math::
    \\mathcal{L} = \\alpha\\, \\mathcal{L}_{\\text{contrast}}(Z, \\hat{A}_r, Q) + \\beta\\, \\mathrm{KL}(P \\,\\|\\, Q),

with :class:`~graphcl.losses.PamCLoss` (meta-nodes from ``argmax Q``, detached; linear time) for PamC and the
exact :class:`~graphcl.losses.NContrastLoss` (all pairs, chunked) for SCGC*. ``τ`` multiplies the cosine.

Predictions are ``argmax Q`` (:meth:`PamC.predict_clusters`); k-means is used only to initialise the centroids.
During training the model records the prediction of every epoch (made with the weights at the start of the
epoch, exactly where the authors evaluate), so that the experiment runner can report both protocols: the
honest one (final model) and the authors' "maximum over epochs of each metric separately", which selects
epochs with the labels.

The details of the losses that the paper leaves open (τ multiplies the cosine, meta-nodes are sums, the diagonal is
zeroed, ...) and the pre-training that replaces the authors' pre-trained weights are listed in ``DEVIATIONS.md``.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from graphcl.data.sampling import minibatch_roots
from graphcl.errors import ConfigError, DataError
from graphcl.functional.influence import influence_matrix
from graphcl.losses.ncontrast import NContrastLoss
from graphcl.losses.pamc import PamCLoss
from graphcl.models.base import GraphModel
from graphcl.nn.autoencoder import SDCN_HIDDEN, MLPAutoEncoder, pretrain_autoencoder
from graphcl.nn.dec import StudentTClustering
from graphcl.ops.similarity import DEFAULT_CHUNK_SIZE

INPUT_SCALINGS = ("none", "binarize", "standardize")


class PamC(GraphModel):
    """PamC deep graph clustering (Kulatilleke et al., 2022): MLP encoder + DEC head + meta-node contrast.

    .. math::
        \\mathcal{L} = \\alpha\\, \\mathcal{L}_{\\text{PamC}}(Z, \\hat{A}_r, \\operatorname{argmax} Q)
            + \\beta\\, \\mathrm{KL}(P \\,\\|\\, Q)

    Args:
        autoencoder: The MLP autoencoder whose encoder produces ``Z``.
        clustering: The Student-t clustering head (``K`` centroids).
        loss: :class:`~graphcl.losses.PamCLoss` (meta-node negatives) or :class:`~graphcl.losses.NContrastLoss`
            (exact, all pairs).
        alpha: Weight of the contrastive term.
        beta: Weight of the KL clustering term.
        order: Hops ``r`` of the influence matrix.
        pretrain_epochs: Autoencoder pre-training epochs, run by :meth:`prepare` (``0``: none).
        pretrain_lr: Pre-training learning rate.
        pretrain_batch_size: Pre-training batch size.
        kmeans_n_init: k-means restarts for the centroid initialisation.
        input_scaling: ``"none"`` (features as given), ``"binarize"`` (``x > 0``: recovers the raw binary
            bag-of-words that SDCN feeds its autoencoder when the loader row-normalised them, e.g. Cora /
            CiteSeer) or ``"standardize"`` (zero mean, unit variance per feature). Row-normalised sparse
            features make every embedding nearly equal to the last layer's bias, and the meta-node loss then
            collapses to a single cluster.
        record_history: Keep every epoch's ``argmax Q`` (for the max-over-epochs protocol).
        gather_distributed: In a ``torch.distributed`` mini-batch run, let the ranks' batches act as one global
            batch: the meta-nodes of the loss are summed over the nodes of every rank (give the loss
            ``PamCLoss(gather_distributed=True)``, as :meth:`build` does), and the cluster frequencies
            :math:`f_j = \\sum_i q_{ij}` of DEC's target ``P`` are summed over the ranks too. Nothing changes in
            one process. (default: ``False``)

    Examples:
        >>> model = PamC.build(in_channels=334, num_clusters=4, alpha=2.0, beta=2.0, tau=1.0)
        >>> data = model.prepare(data)            # influence graph, pre-training, k-means init
        >>> parts = model(data)                   # {"contrastive": ..., "kl": ...}, one epoch
        >>> labels = model.predict_clusters(data)  # argmax Q
    """

    predicts_clusters = True  # argmax Q; the runner scores it instead of k-means on the embeddings
    supports_minibatch = True
    has_unused_parameters = True  # the autoencoder's decoder, used only in pre-training
    #: Non-empty clusters of ``argmax Q`` over training (the uniform meta-node term can empty clusters): at the
    #: first and the last training epoch, and the fewest at any epoch (see :meth:`extra_metric_values`).
    extra_metrics = ("nonempty_clusters", "nonempty_clusters_first", "nonempty_clusters_min")

    def __init__(
        self,
        autoencoder: MLPAutoEncoder,
        clustering: StudentTClustering,
        loss: nn.Module,
        *,
        alpha: float = 1.0,
        beta: float = 1.0,
        order: int = 1,
        pretrain_epochs: int = 30,
        pretrain_lr: float = 1e-3,
        pretrain_batch_size: int = 256,
        kmeans_n_init: int = 20,
        input_scaling: str = "none",
        record_history: bool = True,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (("alpha", alpha), ("beta", beta)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ConfigError(f"order (influence hops) must be an int >= 1, got {order!r}")
        if input_scaling not in INPUT_SCALINGS:
            raise ConfigError(f"input_scaling must be one of {INPUT_SCALINGS}, got {input_scaling!r}")
        for name, value, low in (("pretrain_epochs", pretrain_epochs, 0), ("pretrain_batch_size", pretrain_batch_size, 1),
                                 ("kmeans_n_init", kmeans_n_init, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name} must be an int >= {low}, got {value!r}")
        if isinstance(pretrain_lr, bool) or not isinstance(pretrain_lr, (int, float)) or not 0 < pretrain_lr < float("inf"):
            raise ConfigError(f"pretrain_lr must be a positive finite number, got {pretrain_lr!r}")
        self.autoencoder = autoencoder
        self.clustering = clustering
        self.loss = loss
        self.alpha, self.beta, self.order = float(alpha), float(beta), order
        self.pretrain_epochs, self.pretrain_lr = pretrain_epochs, float(pretrain_lr)
        self.pretrain_batch_size, self.kmeans_n_init = pretrain_batch_size, kmeans_n_init
        self.input_scaling = input_scaling
        self.record_history = record_history
        self.gather_distributed = bool(gather_distributed)
        # Part of the state dict, so that a resumed run does not pre-train a second time.
        self.register_buffer("initialized", torch.tensor(False))
        self.cluster_history: list[Tensor] = []
        self.nonempty_history: list[int] = []
        self.pretrain_losses: list[float] = []

    @classmethod
    def build(
        cls,
        in_channels: int,
        num_clusters: int | None = None,
        hidden_channels: Sequence[int] = list(SDCN_HIDDEN),
        embedding_dim: int = 10,
        alpha: float = 2.0,
        beta: float = 2.0,
        tau: float = 1.0,
        order: int = 1,
        weighting: str = "uniform",
        self_similarity: str = "zero",
        pretrain_epochs: int = 30,
        pretrain_lr: float = 0.001,
        pretrain_batch_size: int = 256,
        kmeans_n_init: int = 20,
        input_scaling: str = "none",
        gather_distributed: bool = False,
        **unused: Any,
    ) -> PamC:
        """PamC with the authors' architecture; defaults are their DBLP settings (α 2, β 2, r 1, τ 1).

        ``num_clusters`` (``K``, the number of clusters sought, e.g. the number of classes) is required.
        ``gather_distributed``: meta-nodes and DEC's cluster frequencies over the batches of every rank in a
        ``torch.distributed`` mini-batch run (see the class docstring).
        """
        return cls._assemble(
            lambda k: PamCLoss(tau=tau, weighting=weighting, self_similarity=self_similarity, num_clusters=k,
                               gather_distributed=gather_distributed),
            in_channels, num_clusters, hidden_channels, embedding_dim, unused,
            alpha=alpha, beta=beta, order=order, pretrain_epochs=pretrain_epochs, pretrain_lr=pretrain_lr,
            pretrain_batch_size=pretrain_batch_size, kmeans_n_init=kmeans_n_init, input_scaling=input_scaling,
            gather_distributed=gather_distributed,
        )

    @classmethod
    def _assemble(
        cls,
        make_loss: Callable[[int], nn.Module],
        in_channels: int,
        num_clusters: int | None,
        hidden_channels: Sequence[int],
        embedding_dim: int,
        unused: dict[str, Any],
        **options: Any,
    ) -> PamC:
        """The authors' architecture (MLP autoencoder + ``K``-centroid Student-t head) around the contrastive
        loss ``make_loss(K)``: what :meth:`build` of PamC and SCGC* share. ``options`` go to the constructor;
        ``unused`` (the builder's leftover keyword arguments) must be empty."""
        if unused:
            raise TypeError(f"{cls.__name__}.build() got unexpected arguments: {sorted(unused)}")
        k = _check_num_clusters(num_clusters, cls.__name__)
        try:
            loss = make_loss(k)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        autoencoder = MLPAutoEncoder(in_channels, hidden_channels, embedding_dim)
        return cls(autoencoder, StudentTClustering(k, embedding_dim), loss, **options)

    @property
    def num_clusters(self) -> int:
        return self.clustering.num_clusters

    def reset_parameters(self) -> None:
        self.autoencoder.reset_parameters()
        self.clustering.reset_parameters()
        self.initialized.fill_(False)
        self.cluster_history = []
        self.nonempty_history = []

    # ------------------------------------------------------------------ helpers
    def influence(self, data: Data) -> tuple[Tensor, Tensor]:
        """The positive graph :math:`\\hat{A}_r` of ``data`` as ``(index, weight)``: ``data.influence_index`` /
        ``data.influence_weight`` if the graph carries them, else computed from its edges.

        Raises:
            DataError: The graph has no edges (no positives).
        """
        if getattr(data, "influence_index", None) is not None:
            return data.influence_index, data.influence_weight
        if data.edge_index.numel() == 0:
            raise DataError(f"{type(self).__name__} needs a graph with edges (the positives); this one has none")
        return influence_matrix(data.edge_index, int(data.num_nodes), self.order,
                                edge_weight=getattr(data, "edge_weight", None))

    def prepare(self, data: Data) -> Data:
        """A shallow copy of ``data`` with its influence graph (``influence_index`` / ``influence_weight``), and,
        unless the model is initialised already (e.g. loaded from a checkpoint), :meth:`initialize` on it.

        Raises:
            DataError: No node features, NaN / inf features, fewer nodes than clusters, or no edges.
        """
        self._features(data)  # checked before the (longer) steps below
        index, weight = self.influence(data)
        prepared = copy.copy(data)
        prepared.influence_index, prepared.influence_weight = index, weight
        if not bool(self.initialized):
            self.initialize(prepared)
        return prepared

    def _features(self, data: Data) -> Tensor:
        """``data.x`` checked (present, finite, at least ``K`` rows) and scaled per :attr:`input_scaling`."""
        x = getattr(data, "x", None)
        if x is None:
            raise DataError(f"{type(self).__name__} needs node features data.x")
        if x.size(0) < self.num_clusters:
            raise DataError(f"num_clusters={self.num_clusters} is larger than the number of nodes ({x.size(0)})")
        if not bool(torch.isfinite(x).all()):
            raise DataError("data.x contains NaN or inf")
        x = x.float() if not x.is_floating_point() else x
        if self.input_scaling == "binarize":
            return (x > 0).to(x.dtype)
        if self.input_scaling == "standardize":
            return (x - x.mean(0)) / x.std(0).clamp(min=1e-8)
        return x

    def initialize(self, data: Data) -> None:
        """Pre-train the autoencoder and set the centroids by k-means on its embeddings (done once)."""
        x = self._features(data)
        self.pretrain_losses = pretrain_autoencoder(
            self.autoencoder, x, epochs=self.pretrain_epochs, lr=self.pretrain_lr, batch_size=self.pretrain_batch_size
        )
        with torch.no_grad():
            z = self.autoencoder.encode(x)
        seed = int(torch.randint(2**31 - 1, (1,)))  # from the seeded global RNG: differs between seeds
        self.clustering.init_kmeans(z, n_init=self.kmeans_n_init, seed=seed)
        self.initialized.fill_(True)
        self.cluster_history = []
        self.nonempty_history = []

    def contrastive_loss(self, z: Tensor, q: Tensor, data: Data) -> Tensor:
        index, weight = self.influence(data)
        if isinstance(self.loss, PamCLoss):
            return self.loss(z, index, q, weight)
        return self.loss(z, index, weight)

    # ------------------------------------------------------------------ model API
    def forward(self, data: Data) -> dict[str, Tensor]:
        """One full-batch epoch on the prepared graph ``data``: ``{"contrastive": α·L_contrast, "kl": β·KL(P‖Q)}``.

        Raises:
            DataError: The model is not initialised or ``data`` carries no influence graph: call
                ``data = model.prepare(data)`` once before training.
        """
        roots = minibatch_roots(data)
        if roots is not None:
            return self._minibatch_forward(data, roots)
        if not bool(self.initialized) or getattr(data, "influence_index", None) is None:
            raise DataError(f"{type(self).__name__} trains on a prepared graph (influence graph, pre-trained "
                            f"autoencoder, k-means centroids): call data = model.prepare(data) once before training")
        x = self._features(data)
        z = self.autoencoder.encode(x)
        q = self.clustering(z)
        # P from the current weights, constant (authors: a separate no-grad pass with the same weights).
        p = StudentTClustering.target_distribution(q)
        if self.training:
            assignment = q.detach().argmax(1)
            self.nonempty_history.append(int(torch.unique(assignment).numel()))
            if self.record_history:
                self.cluster_history.append(assignment.to("cpu", torch.int32))
        parts = {"contrastive": self.alpha * self.contrastive_loss(z, q, data)}
        parts["kl"] = self.beta * StudentTClustering.kl_loss(q, p)
        return parts

    def _minibatch_forward(self, batch: Data, roots: int) -> dict[str, Tensor]:
        """The loss of one mini-batch (:func:`graphcl.data.sampling.neighbor_loader`) over its ``roots``.

        Positives: the influence graph of the batch subgraph, rows of the roots only (exact for ``order = 1``
        when the batch holds every neighbour of its roots, ``num_neighbors=[-1]``; fan-outs sample them).
        Negatives: the meta-nodes of ``argmax Q`` over every node of the batch. KL: the roots' ``Q`` against the
        target ``P`` of the batch. No per-epoch cluster history is recorded (a batch holds a subset of the nodes).
        With :attr:`gather_distributed` the batch is the union of the ranks' batches: meta-nodes (in the loss) and
        the frequencies of ``P`` are summed over the ranks.
        """
        if not bool(self.initialized):
            raise DataError(f"{type(self).__name__} trains on a prepared model (pre-trained autoencoder, k-means "
                            f"centroids): call data = model.prepare(data) on the whole graph before training")
        x = self._features(batch)
        z = self.autoencoder.encode(x)
        q = self.clustering(z)
        frequency = None
        if self.gather_distributed:
            from graphcl.train.distributed import sum_over_ranks

            frequency = sum_over_ranks(q.detach().sum(0))
        p = StudentTClustering.target_distribution(q, frequency)
        index, weight = influence_matrix(batch.edge_index, int(batch.num_nodes), self.order,
                                         edge_weight=getattr(batch, "edge_weight", None))
        anchor = index[0] < roots
        index, weight = index[:, anchor], weight[anchor]
        if isinstance(self.loss, PamCLoss):
            contrastive = self.loss(z, index, q, weight)
        else:
            contrastive = self.loss(z, index, weight)
        return {"contrastive": self.alpha * contrastive,
                "kl": self.beta * StudentTClustering.kl_loss(q[:roots], p[:roots])}

    def embed_chunked(self, data: Data, chunk_size: int) -> Tensor:
        """:meth:`embed` in ``chunk_size`` rows at a time."""
        x = self._features(data)
        with torch.no_grad():
            return torch.cat([self.autoencoder.encode(x[start:start + chunk_size])
                              for start in range(0, x.size(0), chunk_size)])

    def extra_metric_values(self) -> dict[str, float]:
        """Non-empty clusters of ``argmax Q`` (made with the weights at the start of each training epoch):
        ``nonempty_clusters`` at the last epoch, ``nonempty_clusters_first`` at the first (the k-means
        initialisation) and ``nonempty_clusters_min`` the fewest at any epoch; none before training."""
        if not self.nonempty_history:
            return {}
        return {"nonempty_clusters": float(self.nonempty_history[-1]),
                "nonempty_clusters_first": float(self.nonempty_history[0]),
                "nonempty_clusters_min": float(min(self.nonempty_history))}

    def embed(self, data: Data) -> Tensor:
        """Encoder embeddings ``Z`` ``[N, embedding_dim]``, detached."""
        x = self._features(data)
        with torch.no_grad():
            return self.autoencoder.encode(x)

    def soft_assignment(self, data: Data) -> Tensor:
        """Student-t soft assignment ``Q`` ``[N, K]``, detached."""
        with torch.no_grad():
            return self.clustering(self.embed(data))

    def predict_clusters(self, data: Data) -> Tensor:
        """Cluster of every node: ``argmax Q`` (the authors' prediction)."""
        return self.soft_assignment(data).argmax(1)


class SCGC(PamC):
    """SCGC* (Kulatilleke et al., 2022, `arXiv:2204.12656 <https://arxiv.org/abs/2204.12656>`_, MLP-only
    "SCGC_TRIM"): the PamC model with the exact all-pairs neighbourhood contrast — PamC's baseline.

    .. math::
        \\mathcal{L} = \\alpha\\, \\Big(-\\frac{1}{N}\\sum_i \\log \\frac{\\sum_j \\hat{A}_{r,ij}\\, e^{\\tau \\tilde{s}_{ij}}}
            {\\sum_j e^{\\tau \\tilde{s}_{ij}}}\\Big) + \\beta\\, \\mathrm{KL}(P \\,\\|\\, Q)

    ``O(N² d)`` per epoch (streamed in ``chunk_size`` rows, ``O(chunk · N)`` memory).
    """

    @classmethod
    def build(  # type: ignore[override]
        cls,
        in_channels: int,
        num_clusters: int | None = None,
        hidden_channels: Sequence[int] = list(SDCN_HIDDEN),
        embedding_dim: int = 10,
        alpha: float = 1.0,
        beta: float = 0.1,
        tau: float = 0.25,
        order: int = 1,
        self_similarity: str = "zero",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        pretrain_epochs: int = 30,
        pretrain_lr: float = 0.001,
        pretrain_batch_size: int = 256,
        kmeans_n_init: int = 20,
        input_scaling: str = "none",
        **unused: Any,
    ) -> SCGC:
        """SCGC* with the authors' architecture; defaults are their DBLP / ACM settings (α 1, β 0.1, r 1, τ 0.25)."""
        return cls._assemble(
            lambda k: NContrastLoss(tau=tau, self_similarity=self_similarity, chunk_size=chunk_size),
            in_channels, num_clusters, hidden_channels, embedding_dim, unused,
            alpha=alpha, beta=beta, order=order, pretrain_epochs=pretrain_epochs, pretrain_lr=pretrain_lr,
            pretrain_batch_size=pretrain_batch_size, kmeans_n_init=kmeans_n_init, input_scaling=input_scaling,
        )


def _check_num_clusters(num_clusters: Any, model: str) -> int:
    if num_clusters is None:
        raise ConfigError(
            f"{model} needs num_clusters (K, the number of clusters sought, e.g. the number of classes): "
            f"set it in the config file or as an override num_clusters=K"
        )
    if isinstance(num_clusters, bool) or not isinstance(num_clusters, int) or num_clusters < 2:
        raise ConfigError(f"num_clusters must be an int >= 2, got {num_clusters!r}")
    return num_clusters
