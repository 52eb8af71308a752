"""Contrastive losses as ``nn.Module`` s (one concept per file), each tested against a naive reference.

- :class:`InfoNCE` — GRACE's inter- + intra-view InfoNCE, chunked (``O(chunk · N)`` memory).
- :class:`TeamUpInfoNCE` — CSGCL's community-strength-weighted InfoNCE with the γ schedule.
"""
from graphcl.losses.infonce import InfoNCE, grace_info_nce
from graphcl.losses.teamup import TeamUpInfoNCE, team_up_gamma

__all__ = ["InfoNCE", "TeamUpInfoNCE", "grace_info_nce", "team_up_gamma"]
