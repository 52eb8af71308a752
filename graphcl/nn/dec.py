"""DEC clustering head — `"Unsupervised Deep Embedding for Clustering Analysis"
<https://arxiv.org/abs/1511.06335>`_ (Xie, Girshick & Farhadi, 2016), as used by SDCN, SCGC and PamC.

Soft assignment of embedding ``z_i`` to learnable centroid :math:`\\mu_k` with a Student-t kernel (``ν`` degrees
of freedom, 1 in DEC), and the sharpened target distribution ``P``:

.. math::
    q_{ik} = \\frac{(1 + \\lVert z_i - \\mu_k \\rVert^2 / \\nu)^{-\\frac{\\nu + 1}{2}}}
                 {\\sum_{k'} (1 + \\lVert z_i - \\mu_{k'} \\rVert^2 / \\nu)^{-\\frac{\\nu + 1}{2}}},\\qquad
    p_{ik} = \\frac{q_{ik}^2 / f_k}{\\sum_{k'} q_{ik'}^2 / f_{k'}},\\quad f_k = \\sum_i q_{ik},

trained with :math:`\\mathrm{KL}(P \\,\\|\\, Q) = \\frac{1}{N}\\sum_{i,k} p_{ik} \\log(p_{ik}/q_{ik})`
(``F.kl_div(Q.log(), P, reduction="batchmean")``), ``P`` held constant.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.ops.cluster import kmeans


class StudentTClustering(nn.Module):
    """Learnable centroids with DEC's Student-t soft assignment (Xie et al., 2016, arXiv:1511.06335).

    :math:`q_{ik} \\propto (1 + \\lVert z_i - \\mu_k \\rVert^2 / \\nu)^{-(\\nu + 1)/2}` (see the module docstring).

    Args:
        num_clusters: ``K >= 2``.
        embedding_dim: Size of the embeddings.
        nu: Degrees of freedom ``ν`` of the Student-t kernel (default: ``1.0``).

    Shape:
        - z: ``[N, embedding_dim]`` → ``[N, K]`` soft assignment (rows sum to 1).
    """

    def __init__(self, num_clusters: int, embedding_dim: int, nu: float = 1.0) -> None:
        super().__init__()
        if isinstance(num_clusters, bool) or not isinstance(num_clusters, int) or num_clusters < 2:
            raise ValueError(f"num_clusters must be an int >= 2, got {num_clusters!r}")
        if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim < 1:
            raise ValueError(f"embedding_dim must be an int >= 1, got {embedding_dim!r}")
        if isinstance(nu, bool) or not isinstance(nu, (int, float)) or not 0 < nu < float("inf"):
            raise ValueError(f"nu must be a positive finite number, got {nu!r}")
        self.num_clusters = num_clusters
        self.nu = float(nu)
        self.centroids = nn.Parameter(torch.empty(num_clusters, embedding_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_normal_(self.centroids)

    @torch.no_grad()
    def init_kmeans(self, z: Tensor, n_init: int = 20, seed: int = 0) -> Tensor:
        """Set the centroids to a k-means clustering of ``z`` (in place); returns its labels."""
        result = kmeans(z.detach(), self.num_clusters, n_init=n_init, seed=seed)
        self.centroids.copy_(result.centroids.to(self.centroids))
        return result.labels

    def forward(self, z: Tensor) -> Tensor:
        """Soft assignment ``Q`` ``[N, K]``."""
        if not isinstance(z, Tensor) or z.dim() != 2 or z.size(1) != self.centroids.size(1):
            shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f"z must be [N, {self.centroids.size(1)}] (embedding_dim), got {shape}")
        dist_sq = torch.cdist(z, self.centroids).pow(2)
        logits = -(self.nu + 1.0) / 2.0 * torch.log1p(dist_sq / self.nu)
        return torch.softmax(logits, dim=1)

    @staticmethod
    def target_distribution(q: Tensor, frequency: Tensor | None = None) -> Tensor:
        """DEC's sharpened target ``P`` (no gradient): :math:`p_{ij} \\propto q_{ij}^2 / f_j`, normalised per row.

        Args:
            q: Soft assignment ``[N, K]``.
            frequency: Cluster frequencies :math:`f_j` ``[K]`` (default: :math:`\\sum_i q_{ij}` over the rows of
                ``q``; e.g. summed over the ranks of a distributed batch).
        """
        q = q.detach()
        frequency = q.sum(0) if frequency is None else frequency.detach().to(q)
        weight = q.pow(2) / frequency.clamp(min=torch.finfo(q.dtype).tiny)
        return weight / weight.sum(1, keepdim=True)

    @staticmethod
    def kl_loss(q: Tensor, p: Tensor) -> Tensor:
        """:math:`\\mathrm{KL}(P \\| Q)` averaged over nodes (``batchmean``)."""
        return F.kl_div(q.clamp(min=torch.finfo(q.dtype).tiny).log(), p, reduction="batchmean")

    def extra_repr(self) -> str:
        return f"num_clusters={self.num_clusters}, nu={self.nu}"
