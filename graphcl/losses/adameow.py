"""AdaMEOW's learned negative weights — Yu et al., "Heterogeneous Graph Contrastive Learning with Meta-path
Contexts and Adaptively Weighted Negative Samples" (TKDE 2024; arXiv:2212.13847v3).

With anchors :math:`a_i` (fine view), samples :math:`e_j` (coarse view) and :math:`S_{ij} = \\exp(a_i^\\top e_j/\\tau)`:

.. math::
    w_{ij} = \\sigma\\big(v_2^\\top \\tanh(V_1 (a_i + e_j) + b_1) + b_2\\big),\\qquad
    \\mathcal{L} = \\frac1N \\sum_i -\\log \\frac{S_{ii}}{\\sum_j w_{ij} S_{ij}}

over **all** ``j`` including ``i`` (the positive is weighted by the learned :math:`w_{ii}` too). Because
:math:`V_1` is linear, :math:`V_1(a_i + e_j) + b_1 = P_i + Q_j` with :math:`P = a V_1^\\top`,
:math:`Q = e V_1^\\top + b_1`: the weights need only ``[chunk, N, hidden]`` intermediates, never the reference
code's ``N × N × d`` tensor, and each chunk is recomputed in backward (memory ``O(chunk · N · hidden)``, a chunk
at most :data:`BLOCK_ELEMENTS` entries).

The weights receive the loss gradient directly, with no regulariser (as in the reference): lowering every
:math:`w` lowers the loss, so the mean weight is recorded in :attr:`LearnedNegativeWeights.last_mean_weight`
(and by the model, per epoch) to make a collapse visible.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from graphcl.losses.meow import _check_chunk_size, _check_pair, _check_tau

__all__ = ["BLOCK_ELEMENTS", "LearnedNegativeWeights"]

#: Most entries of one chunk's ``[rows, N, hidden]`` weight block in :class:`LearnedNegativeWeights`.
BLOCK_ELEMENTS = 1 << 22


class LearnedNegativeWeights(nn.Module):
    """AdaMEOW's InfoNCE with learned soft pair weights (Yu et al., TKDE 2024, arXiv:2212.13847v3).

    .. math::
        w_{ij} = \\sigma\\big(v_2^\\top \\tanh(V_1 (a_i + e_j) + b_1) + b_2\\big),\\qquad
        \\mathcal{L} = \\frac1N \\sum_i \\Big[-\\frac{a_i^\\top e_i}{\\tau}
            + \\log \\sum_j w_{ij} \\exp(a_i^\\top e_j / \\tau)\\Big]

    over all ``j`` including ``i``, in row chunks (see the module docstring). ``fc1`` is :math:`(V_1, b_1)`,
    ``fc2`` is :math:`(v_2, b_2)`.

    Args:
        channels: Dimension :math:`d_p` of the anchors and samples.
        tau: Temperature :math:`\\tau > 0`.
        hidden_channels: Hidden size of the weight MLP (16 in the reference code).
        chunk_size: Most anchor rows per chunk (``None``: no limit but the block size below). A chunk is also
            kept to at most :data:`BLOCK_ELEMENTS` entries of its ``[rows, N, hidden]`` weight block (16 MiB in
            float32): on CPU, larger blocks are slower per entry (cache misses, and fresh memory-mapped pages on
            every allocation), e.g. 2.0x slower forward + backward at 512 rows than at 64 for ``N`` = 4,019.
            The loss and its gradients do not depend on the chunking. (default: ``256``)

    Shapes:
        - anchor, sample: ``[N, d_p]``; output: scalar.
    """

    def __init__(self, channels: int, tau: float = 0.9, *, hidden_channels: int = 16,
                 chunk_size: int | None = 256) -> None:
        super().__init__()
        self.tau = _check_tau(tau, type(self).__name__)
        self.chunk_size = _check_chunk_size(chunk_size)
        self.fc1 = nn.Linear(channels, hidden_channels)
        self.fc2 = nn.Linear(hidden_channels, 1)
        self.last_mean_weight: float | None = None

    def reset_parameters(self) -> None:
        self.fc1.reset_parameters()
        self.fc2.reset_parameters()

    def weights(self, anchor: Tensor, sample: Tensor) -> Tensor:
        """The dense ``[N, N]`` weight matrix (for inspection and tests; the loss never builds it)."""
        p, q = anchor @ self.fc1.weight.t(), self.fc1(sample)
        return torch.sigmoid(self._log_odds(p, q))

    def _log_odds(self, p: Tensor, q: Tensor) -> Tensor:
        hidden = _LogisticTanh.apply(p.unsqueeze(1) + q.unsqueeze(0))  # [B, N, h]
        return hidden @ self.fc2.weight.squeeze(0) + self.fc2.bias  # [B, N]

    def _rows(self, anchor: Tensor, sample: Tensor, p: Tensor, q: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
        logits = anchor @ sample.t() / self.tau
        log_odds = self._log_odds(p, q)
        denominator = torch.logsumexp(logits + F.logsigmoid(log_odds), dim=1)
        positive = logits.gather(1, rows.unsqueeze(1)).squeeze(1)
        return denominator - positive, torch.sigmoid(log_odds.detach()).sum()

    def forward(self, anchor: Tensor, sample: Tensor) -> Tensor:
        """Loss of anchors :math:`a` and samples :math:`e`, both ``[N, d_p]``; sets :attr:`last_mean_weight`."""
        _check_pair(anchor, sample)
        if anchor.size(0) < 1:
            raise ValueError("anchor and sample need at least one row (node)")
        if anchor.size(1) != self.fc1.in_features:
            raise ValueError(f"expected {self.fc1.in_features}-dimensional inputs, got {anchor.size(1)}")
        n = anchor.size(0)
        p = anchor @ self.fc1.weight.t()
        q = self.fc1(sample)
        chunk = max(1, min(n if self.chunk_size is None else self.chunk_size,
                           BLOCK_ELEMENTS // (n * self.fc1.out_features)))
        losses, weight_sum = [], anchor.new_zeros(())
        use_checkpoint = chunk < n and torch.is_grad_enabled()
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            rows = torch.arange(start, stop, device=anchor.device)
            args = (anchor[start:stop], sample, p[start:stop], q, rows)
            loss, total = (checkpoint(self._rows, *args, use_reentrant=False) if use_checkpoint
                           else self._rows(*args))
            losses.append(loss)
            weight_sum = weight_sum + total
        self.last_mean_weight = float(weight_sum) / (n * n)
        return torch.cat(losses).mean()

    def extra_repr(self) -> str:
        return f"tau={self.tau}, chunk_size={self.chunk_size}"


class _LogisticTanh(torch.autograd.Function):
    """:math:`\\tanh x = 2\\sigma(2x) - 1`, the weight MLP's activation over the ``[rows, N, hidden]`` block.

    Through the logistic function because torch's CPU ``tanh`` kernel is several times slower than its
    ``sigmoid`` (3.4x for the whole expression on a 64 x 4,019 x 16 block, AVX-512); the absolute error stays
    below 2e-7. The backward is ``tanh``'s own, :math:`g\\,(1 - y^2)`, from the saved output.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: Tensor) -> Tensor:
        y = torch.mul(x, 2)
        torch.sigmoid(y, out=y)
        y.mul_(2).sub_(1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> Tensor:
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)
