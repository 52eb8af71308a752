"""Base class of the graph models: what every model offers, declared, so that the runner asks instead of sniffing.

Interface every model implements::

    model = Model.build(in_channels, **config)   # from a flat config (the keys of its signature are the YAML keys)
    data = model.prepare(data)                    # once per graph, before training (default: data unchanged)
    loss = model(data)                            # one training step: a scalar or {part: scalar}
    z = model.embed(data)                         # [N, d] frozen embeddings for evaluation

and the class attributes below, which :mod:`graphcl.experiment` reads to pick the evaluation protocol. A model
added later only overrides what differs from the defaults.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from torch import Tensor, nn

from graphcl.errors import DataError
from graphcl.train.hooks import TrainingHooks


class GraphModel(TrainingHooks, nn.Module):
    """A graph model with declared capabilities and an explicit preparation step.

    Preparation (:meth:`prepare`) is whatever a model computes once per graph before training — communities,
    an influence graph, meta-path views, a diffusion matrix, autoencoder pre-training. It is a separate call
    (made once per training run by :func:`graphcl.experiment.train_model`) rather than a cache inside
    ``forward``: what the model trains on is then visible, computed exactly once, and never silently reused for
    another graph. ``forward`` of a model that needs preparation raises a :class:`~graphcl.errors.DataError`
    naming ``model.prepare(data)`` when it gets an unprepared graph.
    """

    #: Trains on a ``HeteroData`` with meta-paths (built from the graph, evaluated with the DMGI / HeCo protocol)
    #: instead of a homogeneous ``Data``.
    heterogeneous: ClassVar[bool] = False
    #: Predicts clusters itself (:meth:`predict_clusters`); the clustering task then scores those predictions
    #: instead of k-means on the embeddings.
    predicts_clusters: ClassVar[bool] = False
    #: Trains with node labels (``data.y``), i.e. is not self-supervised; the protocol says so.
    needs_labels: ClassVar[bool] = False
    #: Names of the model-specific numbers :meth:`extra_metric_values` reports beside the task metrics (raw
    #: values, not fractions in [0, 1]).
    extra_metrics: ClassVar[tuple[str, ...]] = ()
    #: Trains on mini-batches of a large graph (:func:`graphcl.data.sampling.neighbor_loader`): ``forward`` also
    #: takes a batch whose first ``batch.batch_size`` nodes are its roots and computes the loss over the roots
    #: (the other nodes are their receptive field), and :meth:`embed_chunked` embeds a whole graph in bounded memory.
    supports_minibatch: ClassVar[bool] = False
    #: Some parameters take no part in the training loss (e.g. an autoencoder's decoder used only while
    #: :meth:`prepare` pre-trains it): a distributed run then has ``DistributedDataParallel`` look for them after
    #: every backward (``find_unused_parameters``), which the other models are spared.
    has_unused_parameters: ClassVar[bool] = False

    #: What :meth:`embed` returns, in words, for the ``protocol`` block of the results (heterogeneous models whose
    #: config has no ``embedding`` mode).
    embedding_summary: ClassVar[str] = "encoder output on the clean graph, no projection head"

    #: Options added after runs had been recorded whose default changed what the model does, each with the value
    #: that reproduces a run recorded before the option existed. A resumed run or a benchmark result whose recorded
    #: configuration lacks such a key is read with this value, never with the new default
    #: (:func:`graphcl.config.previous_defaults`).
    previous_defaults: ClassVar[Mapping[str, Any]] = {}

    #: One cluster prediction per training epoch (models with :attr:`predicts_clusters` may record them; the
    #: runner then also reports the maximum over epochs). Empty by default.
    cluster_history: Sequence[Tensor] = ()

    @classmethod
    def build(cls, in_channels: Any, **config: Any) -> GraphModel:
        """The model for inputs of size ``in_channels`` (for heterogeneous models: the ``HeteroData``) from the
        config keys of its signature."""
        raise NotImplementedError(f"{cls.__name__} does not define build()")

    def prepare(self, data: Any) -> Any:
        """Compute what the model needs from ``data`` before training; returns the graph to train on.

        Called once per training run, before the first step. The default has nothing to prepare and returns
        ``data`` unchanged.
        """
        return data

    def run_info(self) -> dict[str, Any]:
        """What the results record about how this model ran, per seed, beyond its config (e.g. the community
        detection backend that actually ran when the configured one was unavailable). Empty by default."""
        return {}

    def embed(self, data: Any) -> Tensor:
        """``[N, d]`` embeddings of ``data`` for downstream tasks, detached."""
        raise NotImplementedError(f"{type(self).__name__} does not define embed()")

    def embed_chunked(self, data: Any, chunk_size: int) -> Tensor:
        """``[N, d]`` embeddings like :meth:`embed`, computed ``chunk_size`` rows at a time where the model can
        (models with :attr:`supports_minibatch`); by default :meth:`embed` itself."""
        return self.embed(data)

    def predict_clusters(self, data: Any) -> Tensor:
        """``[N]`` cluster of every node (only for models with :attr:`predicts_clusters`)."""
        raise DataError(f"{type(self).__name__} does not predict clusters (predicts_clusters is False)")

    def extra_metric_values(self) -> dict[str, float]:
        """The trained model's values of :attr:`extra_metrics` (a name may be missing when the model has no value
        for it, e.g. before training); none by default."""
        return {}
