"""User (window) semantic vectors and texts for SRA-CL (Cui et al., 2025).

SRA-CL's "user" unit is a training window (a prefix of at most ``maxlen`` items). Its semantic vector is,
in the paper, an embedding of an LLM preference summary. The cheap offline substitute (spec §3.11) is the
recency-weighted mean of the window's item vectors:

.. math::
    s_u = \\frac{\\sum_{t} \\gamma^{r_t} \\, v_{i_t}}{\\sum_t \\gamma^{r_t}},

where :math:`r_t` is the recency rank of position :math:`t` (0 for the most recent item) and
:math:`\\gamma \\in (0, 1]` the decay (``1`` = plain mean). Items whose semantic vector is missing (all-zero
rows) get zero weight, so they neither dilute nor bias the mean.

Windows are ``[N, L]`` item-id tensors with padding id 0 on either side: ranks are counted from the last
non-padding item, so left-padded (SRA-CL) and right-padded (RecBole) windows give the same vectors.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from graphcl.errors import DataError


def recency_ranks(windows: Tensor, pad: int = 0) -> Tensor:
    """``[N, L]`` long: for every non-padding position, how many non-padding items come after it (0 = latest)."""
    valid = (windows != pad).long()
    return valid.flip(1).cumsum(1).flip(1) - valid


def window_mean_vectors(
    item_vectors: Tensor,
    windows: Tensor,
    *,
    decay: float = 1.0,
    pad: int = 0,
    chunk_size: int = 4096,
) -> Tensor:
    """Recency-weighted mean of the item vectors of every window (formula in the module docstring).

    Args:
        item_vectors: ``[num_items + 1, D]`` (row ``pad`` is ignored).
        windows: ``[N, L]`` long item ids, ``pad`` for padding.
        decay: Recency decay ``γ`` in ``(0, 1]``.
        pad: Padding id.
        chunk_size: Windows per chunk (memory ``O(chunk_size * L * D)``).

    Returns:
        ``[N, D]`` float32; all-zero for a window without any item that has a vector.
    """
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    if windows.dim() != 2:
        raise ValueError(f"windows must be [N, L], got shape {tuple(windows.shape)}")
    windows = windows.long()
    if windows.numel() and (windows.min() < 0 or windows.max() >= item_vectors.size(0)):
        raise DataError(
            f"window item ids must be in [0, {item_vectors.size(0) - 1}] (the item-vector rows), "
            f"got [{int(windows.min())}, {int(windows.max())}]"
        )
    has_vector = item_vectors.abs().sum(1) > 0
    has_vector[pad] = False
    out = item_vectors.new_zeros(windows.size(0), item_vectors.size(1), dtype=torch.float32)
    for start in range(0, windows.size(0), chunk_size):
        chunk = windows[start:start + chunk_size]
        weights = decay ** recency_ranks(chunk, pad).double()
        weights = (weights * has_vector[chunk]).float()
        total = weights.sum(1, keepdim=True).clamp_min(1e-12)
        gathered = item_vectors[chunk].float()  # [c, L, D]
        out[start:start + chunk.size(0)] = torch.einsum("cl,cld->cd", weights / total, gathered)
    return out


def window_texts(
    windows: Tensor,
    item_texts: Mapping[int, str] | Sequence[str | None],
    *,
    sep: str = "; ",
    template: str = "<{}>",
    pad: int = 0,
) -> list[str]:
    """One text per window: its items' texts in chronological order, ``template``-wrapped, joined by ``sep``.

    This is the "w/o LLM" input of SRA-CL (the titles of the window, in the ``<title1>; <title2>`` format its
    user prompts use). Items without text are left out.
    """
    lookup = item_texts.get if isinstance(item_texts, Mapping) else (
        lambda i: item_texts[i] if 0 <= i < len(item_texts) else None
    )
    texts = []
    for row in windows.tolist():
        parts = [template.format(lookup(i)) for i in row if i != pad and lookup(i)]
        texts.append(sep.join(parts))
    return texts


def window_keys(users: Tensor, windows: Tensor, pad: int = 0,
                user_ids: Sequence[str] | None = None) -> list[str]:
    """Key strings ``"uid:i1:...:ik"`` (chronological, padding dropped), the reference code's window ids.

    ``uid`` is ``user_ids[user]`` (the user's token, as SRA-CL's ``keys_to_int`` files use) when ``user_ids``
    is given, else the number in ``users`` itself.

    Raises:
        DataError: A user row outside ``user_ids``.
    """
    rows = users.tolist()
    if user_ids is not None:
        bad = next((u for u in rows if not 0 <= u < len(user_ids)), None)
        if bad is not None:
            raise DataError(f"window keys: user row {bad} is outside the {len(user_ids)} user ids")
        uids = [str(user_ids[u]) for u in rows]
    else:
        uids = [str(u) for u in rows]
    keys = []
    for uid, row in zip(uids, windows.tolist()):
        keys.append(":".join([uid] + [str(i) for i in row if i != pad]))
    return keys
