"""Every public function and class of the core packages carries a docstring (the developers' standard)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "graphcl"
PACKAGES = ("ops", "losses", "models", "nn", "functional")


@pytest.mark.parametrize("package", PACKAGES)
def test_public_functions_and_classes_have_docstrings(package: str) -> None:
    missing = []
    for path in sorted((ROOT / package).glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            public = isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")
            if public and not (ast.get_docstring(node) or "").strip():
                missing.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name}")
    assert not missing, "public names without a docstring:\n" + "\n".join(missing)
