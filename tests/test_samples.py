"""The bundled sample exports are exactly what the deterministic generator writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_generator_reproduces_the_committed_samples(repo: Path, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "generate_samples", repo / "data/generate_samples.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    committed = sorted(
        p.relative_to(repo / "data/samples") for p in (repo / "data/samples").rglob("*.*")
    )
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.*"))
    assert generated == committed
    for rel in committed:
        assert (tmp_path / rel).read_bytes() == (repo / "data/samples" / rel).read_bytes(), rel
