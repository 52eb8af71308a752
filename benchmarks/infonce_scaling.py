"""Time and peak memory of GRACE's InfoNCE (forward + backward) versus N: naive, dense, chunked.

* ``naive``   — the GRACE authors' formulation: explicit ``exp`` of the two N x N similarity matrices
                (``refl_sim``, ``between_sim``) for both directions, plain autograd.
* ``dense``   — ``graphcl.losses.InfoNCE(chunk_size=None)``: one (2N x 2N) logit matrix, logsumexp, autograd.
* ``chunked`` — ``graphcl.losses.InfoNCE(chunk_size=1024)``: streaming log-sum-exp with gradients accumulated
                per chunk (memory O(chunk · N)).

Every (implementation, N) runs in a fresh subprocess so that its peak RSS is its own; the reported memory is
peak RSS minus the RSS after the inputs were allocated. Usage::

    python benchmarks/infonce_scaling.py                 # writes benchmarks/results/infonce_scaling.json
    python benchmarks/infonce_scaling.py --quick         # small sizes only
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def naive_grace(z1, z2, tau):
    import torch
    import torch.nn.functional as F

    def semi(a, b):
        refl = torch.exp(F.normalize(a) @ F.normalize(a).t() / tau)
        between = torch.exp(F.normalize(a) @ F.normalize(b).t() / tau)
        return -torch.log(between.diag() / (refl.sum(1) + between.sum(1) - refl.diag()))

    return 0.5 * (semi(z1, z2) + semi(z2, z1)).mean()


def worker(impl: str, n: int, d: int, chunk: int, threads: int) -> dict:
    import torch

    from graphcl.losses import InfoNCE
    from graphcl.train import peak_memory_mb

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(n, d, generator=g).requires_grad_()
    z2 = torch.randn(n, d, generator=g).requires_grad_()
    base = _rss_mb()
    start = time.perf_counter()
    if impl == "naive":
        loss = naive_grace(z1, z2, 0.4)
    else:
        loss = InfoNCE(0.4, chunk_size=None if impl == "dense" else chunk)(z1, z2)
    loss.backward()
    elapsed = time.perf_counter() - start
    return {
        "impl": impl, "n": n, "d": d, "chunk_size": chunk if impl == "chunked" else None,
        "time_s": elapsed, "peak_extra_mb": peak_memory_mb() - base, "loss": loss.item(),
    }


def equality_check(n: int = 3000, d: int = 128) -> dict:
    import torch

    from graphcl.losses import InfoNCE

    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(n, d, generator=g).requires_grad_(), torch.randn(n, d, generator=g).requires_grad_()
    dense = InfoNCE(0.4, chunk_size=None)(z1, z2)
    gd = torch.autograd.grad(dense, [z1, z2])
    chunked = InfoNCE(0.4, chunk_size=256)(z1, z2)
    gc = torch.autograd.grad(chunked, [z1, z2])
    return {
        "n": n, "d": d, "abs_loss_diff": abs(dense.item() - chunked.item()),
        "max_abs_grad_diff": max(float((a - b).abs().max()) for a, b in zip(gd, gc)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=3, metavar=("IMPL", "N", "D"))
    parser.add_argument("--chunk", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "infonce_scaling.json"))
    args = parser.parse_args()
    if args.worker:
        impl, n, d = args.worker
        print(json.dumps(worker(impl, int(n), int(d), args.chunk, args.threads)))
        return

    plan = {
        "naive": [1000, 2500, 5000, 10000, 20000],
        "dense": [1000, 2500, 5000, 10000],
        "chunked": [1000, 2500, 5000, 10000, 20000, 50000],
    }
    if args.quick:
        plan = {k: [n for n in v if n <= 2500] for k, v in plan.items()}
    rows = []
    for impl, sizes in plan.items():
        for n in sizes:
            cmd = [sys.executable, __file__, "--worker", impl, str(n), "128", "--chunk", str(args.chunk),
                   "--threads", str(args.threads)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                row = {"impl": impl, "n": n, "d": 128, "error": out.stderr.strip().splitlines()[-1:]}
            else:
                row = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(row), flush=True)
            rows.append(row)
    result = {
        "benchmark": "infonce_scaling",
        "command": "python benchmarks/infonce_scaling.py" + (" --quick" if args.quick else ""),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "threads": args.threads},
        "equality": equality_check(),
        "rows": rows,
        "note": "Not run: dense at N = 20,000 (a 40k x 40k fp32 logit matrix, 6.4 GB, plus its softmax in backward "
        "would exceed the 24 GB machine with the other buffers), dense and naive at N = 50,000 (100k x 100k "
        "logits = 40 GB each).",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
