"""Team-up InfoNCE — the community-strength-weighted objective of `"CSGCL: Community-Strength-Enhanced Graph
Contrastive Learning" <https://arxiv.org/abs/2305.04658>`_ (Chen et al., IJCAI 2023).

The authors add ``γ·(S_i + S_j)`` to every τ-scaled logit of GRACE's loss (``S`` = strength of the node's
community, :mod:`graphcl.functional.community`). The anchor's own ``γ·S_i`` multiplies every term of its row by
``exp(γS_i/τ)`` and cancels, so the loss is exactly a weighted InfoNCE in which candidate ``j`` (positive,
inter- and intra-view negatives alike) is weighted by ``exp(γ·S_j/τ)``:

.. math::
    \\ell(u_i, v_i) = -\\frac{\\theta(u_i, v_i) + \\gamma S_i}{\\tau}
        + \\log\\Big(\\sum_{j} e^{(\\theta(u_i, v_j) + \\gamma S_j)/\\tau}
        + \\sum_{j \\ne i} e^{(\\theta(u_i, u_j) + \\gamma S_j)/\\tau}\\Big),
    \\qquad \\mathcal{L} = \\frac{1}{2N}\\sum_i \\big[\\ell(u_i, v_i) + \\ell(v_i, u_i)\\big].

Negatives from strong communities "team up" and are pushed away harder. ``γ`` follows the authors' schedule
over the (1-based) epoch ``t``: ``γ(t) = min(max(0, (t - t₀)/100), γ_max)`` — GRACE's loss during warm-up, then
``+0.01`` per epoch. Computed in log space with the streaming log-sum-exp of :func:`graphcl.losses.grace_info_nce`
(the ``γS_j/τ`` term is its per-candidate ``node_bias``), so it is stable for ``γ = 10, τ = 0.2`` and needs
``O(chunk · N)`` memory.

With ``gather_distributed`` (lightly's option) each rank of a ``torch.distributed`` run contrasts its anchors with
the candidates of every rank, each carrying its own Team-up weight (:func:`graphcl.losses.gathered_info_nce`).
"""
from __future__ import annotations

from torch import Tensor, nn

from graphcl.losses.infonce import check_temperature, gathered_info_nce, grace_info_nce
from graphcl.ops.similarity import DEFAULT_CHUNK_SIZE, check_chunk_size, check_stabilizer


def team_up_gamma(epoch: int, t0: int, gamma_max: float, ramp_epochs: int = 100) -> float:
    """CSGCL's Team-up schedule (Chen et al., IJCAI 2023): ``min(max(0, (epoch - t0) / ramp_epochs), gamma_max)``,
    epochs counted from 1 as in the authors' code."""
    return float(min(max(0.0, (epoch - t0) / ramp_epochs), gamma_max))


class TeamUpInfoNCE(nn.Module):
    """CSGCL's Team-up objective (Chen et al., IJCAI 2023): GRACE's InfoNCE with candidates weighted by
    ``exp(γ·S_j/τ)``, ``S_j`` the strength of node ``j``'s community.

    .. math::
        \\mathcal{L} = \\frac{1}{2N}\\sum_i \\big[\\ell(u_i, v_i) + \\ell(v_i, u_i)\\big],\\quad
        \\ell(u_i, v_i) = -\\log \\frac{e^{(\\theta(u_i,v_i) + \\gamma S_i)/\\tau}}
            {\\sum_j e^{(\\theta(u_i,v_j) + \\gamma S_j)/\\tau} + \\sum_{j\\ne i} e^{(\\theta(u_i,u_j) + \\gamma S_j)/\\tau}}

    ``γ`` is set by :meth:`set_epoch` (called by :func:`graphcl.train.fit` through the model) following
    ``γ(t) = min(max(0, (t - t₀)/ramp), γ_max)``; with ``γ = 0`` the value and gradient are exactly GRACE's
    (:class:`~graphcl.losses.InfoNCE`), computed by the same code path.

    Args:
        tau: Temperature ``τ``. (default: ``0.4``)
        t0: Warm-up epochs with ``γ = 0``. (default: ``500``)
        gamma_max: Final ``γ``; ``0`` turns Team-up off. (default: ``1.0``)
        ramp_epochs: Epochs per unit of ``γ`` — the authors hard-code 100. (default: ``100``)
        chunk_size: Anchors per chunk of the streaming log-sum-exp; ``None`` = dense. (default: ``1024``)
        stabilizer: ``"fixed_shift"`` or ``"running_max"`` (the slower reference form of the streaming
            log-sum-exp; :func:`graphcl.ops.weighted_logsumexp`). (default: ``"fixed_shift"``)
        gather_distributed: In a ``torch.distributed`` run, contrast this rank's anchors with the rows of *every*
            rank, gathered with gradients (:func:`graphcl.train.distributed.gather_with_grad`), each candidate
            ``j`` weighted by ``exp(γ S_j / τ)`` with its own rank's strength (gathered too, without gradient):

            .. math::
                \\mathcal{L}_r = \\frac{1}{2n}\\sum_{a \\in [u^{(r)}; v^{(r)}]} \\Big[-\\frac{\\theta(a, a^+)
                    + \\gamma S_{a^+}}{\\tau} + \\log \\sum_{c \\in [U; V],\\, c \\ne a}
                    e^{(\\theta(a, c) + \\gamma S_c)/\\tau}\\Big],

            so that the mean over the ``W`` ranks of ``n`` rows (what ``DistributedDataParallel`` optimises) is the
            one-process loss of the ``Wn`` rows, gradients included. Every rank passes the same ``n`` and the same
            ``γ`` (the epoch schedule). Outside a process group it changes nothing. (default: ``False``)

    Shape:
        - z1, z2: ``[N, d]`` projected views, rows aligned; with ``gather_distributed``, this rank's rows.
        - strength: ``[N]`` community strength of every node (``data.community_strength``).
        - output: scalar.

    Examples:
        >>> loss_fn = TeamUpInfoNCE(tau=0.4, t0=0, gamma_max=1.0)
        >>> loss_fn.set_epoch(50)                 # γ = 0.5
        >>> loss = loss_fn(z1, z2, strength)      # doctest: +SKIP
    """

    def __init__(
        self,
        tau: float = 0.4,
        t0: int = 500,
        gamma_max: float = 1.0,
        ramp_epochs: int = 100,
        chunk_size: int | None = DEFAULT_CHUNK_SIZE,
        stabilizer: str = "fixed_shift",
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        tau = check_temperature(tau, minimum=1e-8)
        if not isinstance(gather_distributed, bool):
            raise ValueError(f"gather_distributed must be True or False, got {gather_distributed!r}")
        if isinstance(t0, bool) or not isinstance(t0, int) or t0 < 0:
            raise ValueError(f"t0 must be a non-negative int (warm-up epochs), got {t0!r}")
        if not gamma_max >= 0:
            raise ValueError(f"gamma_max must be >= 0, got {gamma_max}")
        if isinstance(ramp_epochs, bool) or not isinstance(ramp_epochs, int) or ramp_epochs < 1:
            raise ValueError(f"ramp_epochs must be a positive int, got {ramp_epochs!r}")
        check_chunk_size(chunk_size, allow_none=True)
        self.tau = float(tau)
        self.t0 = t0
        self.gamma_max = float(gamma_max)
        self.ramp_epochs = ramp_epochs
        self.chunk_size = chunk_size
        self.stabilizer = check_stabilizer(stabilizer)
        self.gather_distributed = gather_distributed
        self.gamma = 0.0

    def set_epoch(self, epoch: int) -> None:
        """Set ``γ`` for the (1-based) training epoch ``epoch``."""
        self.gamma = team_up_gamma(epoch, self.t0, self.gamma_max, self.ramp_epochs)

    def forward(self, z1: Tensor, z2: Tensor, strength: Tensor) -> Tensor:
        """Loss of two aligned views ``[N, d]`` given each node's community strength ``[N]``."""
        from graphcl.train.distributed import world_size

        n = z1.size(0) if isinstance(z1, Tensor) and z1.dim() == 2 else -1
        if not isinstance(strength, Tensor) or strength.shape != (n,):
            shape = tuple(strength.shape) if isinstance(strength, Tensor) else type(strength).__name__
            raise ValueError(f"strength must hold one community strength per node, shape [{n}], got {shape}")
        bias = None
        if self.gamma != 0.0:
            bias = (self.gamma / self.tau) * strength.detach().to(device=z1.device, dtype=z1.dtype)
        if self.gather_distributed and world_size() > 1:
            return gathered_info_nce(z1, z2, self.tau, node_bias=bias, chunk_size=self.chunk_size)
        return grace_info_nce(z1, z2, self.tau, node_bias=bias, chunk_size=self.chunk_size, stabilizer=self.stabilizer)

    def extra_repr(self) -> str:
        return (
            f"tau={self.tau}, t0={self.t0}, gamma_max={self.gamma_max}, ramp_epochs={self.ramp_epochs}, "
            f"chunk_size={self.chunk_size}, stabilizer={self.stabilizer!r}, gather_distributed={self.gather_distributed}, "
            f"gamma={self.gamma}"
        )
