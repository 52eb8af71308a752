"""Helpers that run a second Python process beside a test."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held_by_another_process(run: Path) -> Iterator[None]:
    """``run`` held with :func:`graphcl.train.hold_run_dir` by a second Python process until the block ends."""
    code = ("import sys; from graphcl.train import hold_run_dir\n"
            "with hold_run_dir(sys.argv[1]):\n    print('held', flush=True)\n    sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(run)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate("")  # closing its stdin ends the block; the lock goes with the process
