"""Robust parsing: one odd file is that file's error, never a crash of the whole registry."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from pipelines.spec import registry as registry_module
from pipelines.spec.registry import load_registry, load_source_file
from pipelines.spec.yaml_lines import MAX_DOCUMENT_BYTES
from tests.conftest import isolated_env
from tests.spec.invalid_specs import VALID

BARE_NUMBER = (
    "name: numbered\ndescription: x\nowner: team:marketing-ops\nrest_api:\n"
    "  client:\n    base_url: https://pokeapi.co/api/v2/\n  resources:\n    - pokemon\n    - 42\n"
)
LAUGHS = "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)
BOMB = 'name: bomb_src\ndescription: x\nowner: team:x\na: &a ["lol","lol","lol","lol","lol"]\n'
BOMB += LAUGHS


def _folder(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "sources"
    folder.mkdir()
    for stem, text in files.items():
        (folder / f"{stem}.yaml").write_text(text)
    return folder


@pytest.mark.parametrize("deep", [True, False])
def test_a_bare_number_resource_is_its_files_error_only(tmp_path: Path, deep: bool) -> None:
    good = VALID.replace("bad_source", "good_source")
    folder = _folder(tmp_path, numbered=BARE_NUMBER, good_source=good)
    registry = load_registry(folder, deep=deep)  # raised AttributeError for every file before
    assert [s.name for s in registry.sources] == ["good_source"]
    assert [(e.file.name, e.line) for e in registry.errors] == [("numbered.yaml", 9)]
    assert "got int 42" in registry.errors[0].message


def test_any_exception_while_validating_becomes_that_files_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = registry_module.find_literal_secrets

    def crash_on_one(document):
        if document.get("name") == "crashy":
            raise KeyError("something nobody expected")
        return original(document)

    monkeypatch.setattr(registry_module, "find_literal_secrets", crash_on_one)
    folder = _folder(
        tmp_path,
        crashy=VALID.replace("bad_source", "crashy"),
        good_source=VALID.replace("bad_source", "good_source"),
    )
    registry = load_registry(folder)
    assert [s.name for s in registry.sources] == ["good_source"]
    (error,) = registry.errors
    assert error.file.name == "crashy.yaml" and error.line == 1
    assert "could not validate this file (KeyError: 'something nobody expected')" in error.message


def test_the_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    text = BOMB + "#" * (556 - len(BOMB)) + "\n"
    assert len(text.encode()) == 557
    path = tmp_path / "bomb_src.yaml"
    path.write_text(text)
    started = time.perf_counter()
    errors = load_source_file(path).errors  # took validate past 4 GB of memory before
    assert time.perf_counter() - started < 2
    assert [(e.line, e.message) for e in errors] == [
        (
            4,
            "YAML anchors and aliases (&a) are not allowed in source files; "
            "write the values out in full",
        )
    ]


def test_an_alias_alone_is_refused_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad_source.yaml"
    path.write_text(VALID + "  orders: *x\n")
    (error,) = load_source_file(path).errors
    assert error.line == 14 and "(*x)" in error.message


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad_source.yaml"
    path.write_text(VALID + "# padding\n" * (MAX_DOCUMENT_BYTES // 10))
    (error,) = load_source_file(path).errors
    assert error.line == 1 and "larger than" in error.message


@pytest.mark.dagster
def test_run_still_loads_the_other_sources(repo: Path, tmp_path: Path) -> None:
    folder = _folder(tmp_path, numbered=BARE_NUMBER)
    shutil.copy(repo / "sources/ad_spend.yaml", folder / "ad_spend.yaml")
    done = subprocess.run(
        [str(repo / ".venv/bin/sourcegate"), "run", "--sources", str(folder)],
        cwd=repo,
        env={**isolated_env(tmp_path), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout + done.stderr
    assert "AttributeError" not in out and "Traceback" not in out
    assert "skipped broken file" in out and "numbered.yaml:9" in out
    assert any(line.split()[:2] == ["ad_spend", "daily_spend"] for line in out.splitlines()), out
