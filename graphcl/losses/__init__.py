"""Contrastive losses as ``nn.Module`` s (one concept per file), each tested against a naive reference.

- :class:`InfoNCE` — GRACE's inter- + intra-view InfoNCE, chunked (``O(chunk · N)`` memory).
- :class:`TeamUpInfoNCE` — CSGCL's community-strength-weighted InfoNCE with the γ schedule.
- :class:`PamCLoss` — PamC's meta-node contrast, linear in the graph size (+ :func:`meta_node_info_nce`).
- :class:`NContrastLoss` — the exact all-pairs neighbourhood contrast (SCGC* / Graph-MLP), chunked.
- :class:`WeightedInfoNCE` + :class:`ProtoNCE` — MEOW's cluster-weighted InfoNCE and PCL's ProtoNCE
  (:func:`cluster_prototypes` builds the per-epoch clusterings).
- :class:`LearnedNegativeWeights` — AdaMEOW's InfoNCE with learned soft negative weights.
- :class:`CoContrastiveLoss` — HeCo's cross-view contrast with several (meta-path-count) positives per node.
- :class:`BootstrapLoss` — BYOL / BGRL's ``2 − 2·cos`` regression onto stop-gradient targets (no negatives).
"""
from graphcl.losses.adameow import LearnedNegativeWeights
from graphcl.losses.bootstrap import BootstrapLoss
from graphcl.losses.heco import CoContrastiveLoss, co_contrastive_loss
from graphcl.losses.infonce import InfoNCE, gathered_info_nce, grace_info_nce
from graphcl.losses.meow import (
    ClusterPrototypes,
    ProtoNCE,
    WeightedInfoNCE,
    cluster_prototypes,
)
from graphcl.losses.ncontrast import NContrastLoss, ncontrast_loss
from graphcl.losses.pamc import PamCLoss, meta_node_info_nce, pamc_loss
from graphcl.losses.teamup import TeamUpInfoNCE, team_up_gamma

__all__ = ["InfoNCE", "TeamUpInfoNCE", "gathered_info_nce", "grace_info_nce", "team_up_gamma"]
__all__ += ["NContrastLoss", "PamCLoss", "meta_node_info_nce", "ncontrast_loss", "pamc_loss"]
__all__ += ["ClusterPrototypes", "LearnedNegativeWeights", "ProtoNCE", "WeightedInfoNCE", "cluster_prototypes"]
__all__ += ["BootstrapLoss"]
__all__ += ["CoContrastiveLoss", "co_contrastive_loss"]
