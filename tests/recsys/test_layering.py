"""recsys builds on graphcl's shared layers (ops, losses, train, commandline), never on its graph runner or CLI."""
from __future__ import annotations

import ast
from pathlib import Path

RECSYS = Path(__file__).resolve().parents[2] / "recsys"
FORBIDDEN = ("graphcl.experiment", "graphcl.cli", "graphcl.models", "graphcl.eval.hetero")


def test_recsys_imports_no_graph_runner_cli_or_graph_model() -> None:
    offenders = []
    for path in sorted(RECSYS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{path.relative_to(RECSYS.parent)}:{node.lineno} {name}" for name in names
                          if name.startswith(FORBIDDEN)]
    assert not offenders, offenders
