"""Import and export RecBole SASRec-family checkpoints (``{"state_dict": ...}`` files).

RecBole saves ``{"config": Config, "epoch": int, "state_dict": {...}, "other_parameter": ..., "optimizer": ...}``
with :func:`torch.save`. :func:`load_recbole_sasrec` reads it on the CPU (so GPU-saved files load anywhere)
through :func:`graphcl.safe_load.load_foreign_checkpoint`: tensors, storages and plain containers are rebuilt,
and every other pickled class (RecBole's ``Config``) becomes an inert placeholder, so no code from the file ever
runs, whichever of torch's formats (zip, legacy, plain pickle) the file uses. The encoder's sizes come from the tensor shapes (item rows, hidden size, window, layers,
feed-forward width); the head count cannot be read from shapes and is a parameter (default 2). Keys that
inference does not use (projection heads, augmenters, ... of CL variants) are ignored and listed.
"""
from __future__ import annotations

import os
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from graphcl.errors import DataError
from graphcl.safe_load import load_foreign_checkpoint
from recsys.nn.sasrec import SASRecEncoder

_LAYER_KEY = re.compile(r"^trm_encoder\.layer\.(\d+)\.")


@dataclass
class RecBoleImport:
    """What :func:`load_recbole_sasrec` found besides the weights."""

    ignored_keys: list[str] = field(default_factory=list)
    placeholder_classes: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    epoch: int | None = None


def export_recbole_sasrec(encoder: SASRecEncoder, path: str | os.PathLike[str], **extra: Any) -> Path:
    """Save ``encoder`` as a RecBole-style checkpoint ``{"state_dict": ..., **extra}`` with RecBole's key names.

    Args:
        encoder: The encoder (its parameter names already are RecBole's).
        path: Output file.
        **extra: Other top-level entries (e.g. ``epoch=3``); must be ``weights_only``-loadable.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = OrderedDict((k, v.detach().cpu().clone()) for k, v in encoder.state_dict().items())
    torch.save({"state_dict": state, **extra}, path)
    return path


def load_recbole_sasrec(
    path: str | os.PathLike[str],
    *,
    num_heads: int = 2,
    num_items: int | None = None,
    padding: str = "right",
    layer_norm_eps: float = 1e-12,
    prefix: str = "",
) -> tuple[SASRecEncoder, RecBoleImport]:
    """Build a :class:`SASRecEncoder` holding the weights of a RecBole SASRec-family checkpoint.

    Args:
        path: The ``.pth`` file (``{"state_dict": ...}``; a bare state dict also works).
        num_heads: Attention heads (not recoverable from shapes; RecBole's SASRec default is 2).
        num_items: Real items of the dataset; the item table may have more rows (RecBole counts PAD in
            ``n_items``; the DuoRec/MCLRec fork adds a mask-token row), which are kept but never scored.
            Default: every row but the padding row.
        padding: Alignment of the inputs that will be fed (RecBole: ``"right"``).
        layer_norm_eps: LayerNorm epsilon (RecBole 1e-12).
        prefix: Key prefix of the encoder inside the state dict (e.g. ``"encoder."``), if any.

    Returns:
        ``(encoder, info)``: the encoder in eval mode, and the ignored keys / placeholder classes / sizes.

    Raises:
        DataError: The file is missing or unreadable, has no ``state_dict``, lacks required keys, or has
            tensors of inconsistent shapes (the message names the key).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint not found: {path}")
    checkpoint, placeholders = load_foreign_checkpoint(path, what="RecBole checkpoint")
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise DataError(f"{path}: expected a {{'state_dict': {{name: tensor}}}} checkpoint")
    state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    try:
        items = state["item_embedding.weight"]
        positions = state["position_embedding.weight"]
        inner = state["trm_encoder.layer.0.feed_forward.dense_1.weight"].shape[0]
    except KeyError as exc:
        raise DataError(f"{path}: state_dict lacks {exc.args[0]!r}; is this a SASRec-family checkpoint?") from None
    num_layers = 1 + max(int(m.group(1)) for k in state if (m := _LAYER_KEY.match(k)))
    rows, hidden = items.shape
    if num_items is None:
        num_items = rows - 1
    if rows < num_items + 1:
        raise DataError(
            f"{path}: item_embedding.weight has {rows} rows but the data has {num_items} items "
            f"(+1 padding row); the checkpoint belongs to a different dataset"
        )
    encoder = SASRecEncoder(
        num_items, max_len=positions.shape[0], hidden_size=hidden, num_layers=num_layers, num_heads=num_heads,
        inner_size=inner, hidden_dropout=0.0, attn_dropout=0.0, layer_norm_eps=layer_norm_eps, padding=padding,
        extra_embeddings=rows - num_items - 1,
    )
    expected = encoder.state_dict()
    missing = [k for k in expected if k not in state]
    if missing:
        raise DataError(f"{path}: state_dict lacks {len(missing)} encoder key(s): {', '.join(missing[:5])}")
    for key, value in expected.items():
        if state[key].shape != value.shape:
            raise DataError(f"{path}: {key} has shape {tuple(state[key].shape)}, expected {tuple(value.shape)}")
    encoder.load_state_dict({k: state[k].float() for k in expected})
    encoder.eval()
    ignored = sorted(k for k in state if k not in expected)
    info = RecBoleImport(
        ignored_keys=ignored, placeholder_classes=placeholders,
        sizes={"item_rows": rows, "num_items": num_items, "hidden_size": hidden, "max_len": positions.shape[0],
               "num_layers": num_layers, "num_heads": num_heads, "inner_size": inner},
        epoch=checkpoint.get("epoch") if isinstance(checkpoint.get("epoch"), int) else None,
    )
    if ignored:
        warnings.warn(f"{path}: ignored {len(ignored)} key(s) inference does not use: {', '.join(ignored)}",
                      stacklevel=2)
    return encoder, info
