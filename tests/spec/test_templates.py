"""Templates: an untouched `sourcegate new` file is refused in production and warned in pilot."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from pipelines.cli import validate
from pipelines.cli.new import scaffold_source
from pipelines.governance.placeholders import describe_placeholder
from pipelines.spec.registry import load_registry, load_source_file

KINDS = ("files", "rest_api", "sql_database")


@pytest.fixture
def folder(repo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "sources"
    shutil.copytree(repo / "sources/_templates", target / "_templates")
    shutil.copy(repo / "sources/source.schema.json", target)
    return target


def _new(folder: Path, kind: str) -> Path:
    answers = {
        "name": f"new_{kind}",
        "kind": kind,
        "owner": "ana@example.com",
        "description": "A new source",
    }
    return scaffold_source(folder, answers)


@pytest.mark.parametrize("kind", KINDS)
def test_new_points_schema_at_the_file_beside_it(folder: Path, kind: str) -> None:
    path = _new(folder, kind)
    first = path.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=./source.schema.json"
    assert path.parent == folder  # where ./source.schema.json lives in the repo's sources/


def test_new_in_a_folder_without_the_schema_points_at_the_bundled_one(
    repo: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()  # no _templates/ and no source.schema.json: the bundled ones are used
    path = _new(folder, "rest_api")
    first = path.read_text().splitlines()[0]
    assert first == f"# yaml-language-server: $schema={repo / 'sources' / 'source.schema.json'}"
    assert load_source_file(path).errors == []


@pytest.mark.parametrize("kind", KINDS)
def test_an_untouched_new_file_is_refused_in_production(folder: Path, kind: str) -> None:
    path = _new(folder, kind)
    path.write_text(path.read_text().replace("stage: pilot", "stage: production"))
    messages = [e.message for e in load_source_file(path).errors]
    assert any(
        m.startswith("purpose: TODO left from the template; fill it in") for m in messages
    ), messages
    assert all(
        "(sourcegate rule: no template placeholders in production)" in m
        for m in messages
        if "template" in m
    )


def test_the_example_host_is_refused_in_production(folder: Path) -> None:
    path = _new(folder, "rest_api")
    path.write_text(path.read_text().replace("stage: pilot", "stage: production"))
    errors = load_source_file(path).errors
    assert any(
        e.line == 11
        and e.message.startswith(
            "rest_api.client.base_url: the example host api.example.com left from the template"
        )
        for e in errors
    ), [str(e) for e in errors]


@pytest.mark.parametrize("kind", KINDS)
def test_an_untouched_new_file_only_warns_in_pilot(folder: Path, kind: str) -> None:
    result = load_source_file(_new(folder, kind))
    assert result.errors == []
    assert any(
        "TODO left from the template; fill it in before stage: production" in w.message
        for w in result.warnings
    )


def test_validate_prints_warnings_and_still_passes(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _new(folder, "rest_api")
    code = validate.command(argparse.Namespace(paths=[folder], sources=None))
    out, err = capsys.readouterr()
    assert code == 0
    assert "ok: 1 source file(s) valid (2 warning(s))" in out
    assert "new_rest_api.yaml:7: warning: purpose: TODO left from the template" in err
    assert "new_rest_api.yaml:11: warning: rest_api.client.base_url: the example host" in err


def test_bundled_sources_have_no_placeholders(repo: Path) -> None:
    registry = load_registry(repo / "sources", reserved_names={"marketing"})
    assert [w for w in registry.warnings if "template" in w.message] == []


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("TODO the business question", "TODO"),
        ("https://api.example.com/v1/", "the example host api.example.com"),
        ("https://example.org", "the example host example.org"),
        ("data/drops/${name}", "the template variable ${name}"),
        ("data-platform@example.com", None),  # the bundled steward: an email, not a host
        ("https://api.hubapi.com/", None),
        ("https://notexample.com/", None),
        ("Todos from the CRM", None),
    ],
)
def test_what_counts_as_a_placeholder(value: str, found: str | None) -> None:
    assert describe_placeholder(value) == found
