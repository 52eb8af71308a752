"""Time and peak memory of GRACE's InfoNCE (forward + backward) versus N: naive, dense, chunked.

* ``naive``   — the GRACE authors' formulation: explicit ``exp`` of the two N x N similarity matrices
                (``refl_sim``, ``between_sim``) for both directions, plain autograd.
* ``dense``   — ``graphcl.losses.InfoNCE(chunk_size=None)``: one (2N x 2N) logit matrix, logsumexp, autograd.
* ``chunked`` — ``graphcl.losses.InfoNCE(chunk_size=1024)``: streaming log-sum-exp with gradients accumulated
                per chunk (memory O(chunk · N)).

At every N the implementations run alternately in one process (median of ``--repeats`` passes after one
warm-up); the peak memory of each (implementation, N) is measured in a fresh process (peak RSS above the RSS
after the inputs were allocated).
"""
from __future__ import annotations

import argparse
from typing import Any

import torch

from benchmarks.perf import harness

TITLE = "GRACE InfoNCE, forward + backward, d = 128"
DESCRIPTION = (
    "naive = the GRACE authors' formulation (exp of two N×N matrices per direction); dense = our loss with "
    "`chunk_size=None`; chunked = our default (`chunk_size=1024`, fused streaming log-sum-exp). Time: median of "
    "the passes, the implementations alternating at each N in one process; memory: peak RSS above the RSS after "
    "the inputs were allocated, each (implementation, N) in a fresh process.")
LIMITS = {"naive": 20_000, "dense": 10_000, "chunked": 50_000}
SIZES = [1_000, 2_500, 5_000, 10_000, 20_000, 50_000]
QUICK_SIZES = [200, 500]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help=f"N values (default: {SIZES})")
    parser.add_argument("--dim", type=int, default=128, help="embedding size d (default: 128)")
    parser.add_argument("--chunk", type=int, default=1024, help="chunk size of the chunked loss (default: 1024)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per implementation (default: 3)")


def naive_grace(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    """The GRACE authors' loss, literally (exp of the full similarity matrices)."""
    import torch.nn.functional as F

    def semi(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        refl = torch.exp(F.normalize(a) @ F.normalize(a).t() / tau)
        between = torch.exp(F.normalize(a) @ F.normalize(b).t() / tau)
        return -torch.log(between.diag() / (refl.sum(1) + between.sum(1) - refl.diag()))

    return 0.5 * (semi(z1, z2) + semi(z2, z1)).mean()


def make_inputs(n: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, d, generator=g).requires_grad_(), torch.randn(n, d, generator=g).requires_grad_()


def loss_pass(impl: str, z1: torch.Tensor, z2: torch.Tensor, chunk: int) -> float:
    from graphcl.losses import InfoNCE

    z1.grad = z2.grad = None
    loss = naive_grace(z1, z2, 0.4) if impl == "naive" else InfoNCE(
        0.4, chunk_size=None if impl == "dense" else chunk)(z1, z2)
    loss.backward()
    return float(loss.detach())


def memory_child(impl: str, n: int, d: int, chunk: int) -> float:
    """Peak memory (MiB) of one pass of ``impl`` at ``n``, in this (fresh) process, above the inputs."""
    import graphcl.losses  # noqa: F401 - imported before the measurement, which must see the pass only

    z1, z2 = make_inputs(n, d)
    with harness.PeakMemory() as memory:
        loss_pass(impl, z1, z2, chunk)
    return memory.peak_mb


def equality(chunk: int, n: int = 3000, d: int = 128) -> list[dict[str, Any]]:
    from graphcl.losses import InfoNCE

    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(n, d, generator=g).requires_grad_(), torch.randn(n, d, generator=g).requires_grad_()
    dense = InfoNCE(0.4, chunk_size=None)(z1, z2)
    grad_dense = torch.autograd.grad(dense, [z1, z2])
    chunked = InfoNCE(0.4, chunk_size=min(chunk, 256))(z1, z2)
    grad_chunked = torch.autograd.grad(chunked, [z1, z2])
    return [harness.summary_item(f"chunked vs dense at N = {n:,}: |Δ loss|", abs(dense.item() - chunked.item())),
            harness.summary_item(f"chunked vs dense at N = {n:,}: max |Δ grad|",
                                 max(float((a - b).abs().max()) for a, b in zip(grad_dense, grad_chunked)))]


def run(options: argparse.Namespace) -> dict[str, Any]:
    from graphcl.plots import growth_exponent

    sizes = options.sizes or (QUICK_SIZES if options.quick else SIZES)
    repeats = 1 if options.quick else options.repeats
    rows: list[dict[str, Any]] = []
    for n in sizes:
        impls = [impl for impl, limit in LIMITS.items() if n <= limit]
        z1, z2 = make_inputs(n, options.dim)
        timed = harness.time_calls({impl: (lambda i=impl, a=z1, b=z2: loss_pass(i, a, b, options.chunk)) for impl in impls},
                                   repeats=repeats, warmup=1, n=n)
        for row in timed:
            row["peak_mem_mb"] = (memory_child(row["variant"], n, options.dim, options.chunk) if options.quick else
                                  harness.isolated(memory_child, row["variant"], n, options.dim, options.chunk,
                                                   threads=options.threads))
            print({k: v for k, v in row.items() if not k.endswith("times_s")}, flush=True)
        rows += timed
    summary = [harness.summary_item(f"{impl}: growth exponent of time (log-log slope from N = 10^4)",
                                    growth_exponent([(r["n"], r["time_s"]) for r in rows if r["variant"] == impl]))
               for impl in LIMITS]
    summary += equality(options.chunk, n=300 if options.quick else 3000)
    not_run = [f"{impl} above N = {limit:,}" for impl, limit in LIMITS.items() if any(n > limit for n in sizes)]
    note = ("Not run: " + ", ".join(not_run) + " (dense at N = 20,000 is a 40k × 40k float32 logit matrix, 6.4 GB, "
            "plus its softmax in backward; dense and naive at N = 50,000 need 40 GB per matrix)." if not_run else "")
    return {"rows": rows, "summary": summary, "note": note,
            "columns": ["n", "variant", "time_s", "cpu_s", "peak_mem_mb"],
            "settings": {"d": options.dim, "tau": 0.4, "chunk_size": options.chunk, "repeats": repeats,
                         "sizes": sizes, "limits": LIMITS}}
