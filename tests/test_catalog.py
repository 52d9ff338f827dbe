"""The connector catalog: every template validates, `sourcegate new --from` writes a valid file
for each, `sourcegate templates` lists them all, and each has its end-to-end vendor test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.cli.new import ScaffoldError, scaffold_from_catalog
from pipelines.spec.catalog import example_answers, load_catalog
from pipelines.spec.registry import load_source_file
from tests.conftest import REPO

CATALOG = load_catalog()


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_new_from_every_template_gives_a_file_that_validates(key: str, tmp_path: Path) -> None:
    template = CATALOG[key]
    answers = {"name": f"{key}_shop", "owner": "team:marketing"}
    path = scaffold_from_catalog(tmp_path, key, answers, example_answers(template))
    result = load_source_file(path)
    assert result.errors == [], [e.message for e in result.errors]
    spec = result.source.spec
    assert spec.kind == "rest_api" and spec.stage == "pilot"
    # what every template carries: its secrets as {secret: ...}, PII rules, checks, retries
    assert sorted(spec.secret_names()) == sorted(template.secret_names(f"{key}_shop"))
    assert spec.pii.hash or spec.pii.drop or spec.pii.keep, "PII rules (or kept with reasons)"
    assert all(spec.checks.get(t) for t in spec.table_names()), "a starter check per table"
    assert spec.http.max_attempts and spec.http.max_attempts >= 3, "rate-limit retries"
    assert template.docs.startswith("https://")
    text = path.read_text()
    assert template.docs in text, "the vendor's docs are linked in the file"
    assert "${" not in text


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_template_has_its_end_to_end_test(key: str) -> None:
    assert (REPO / "tests" / "vendors" / f"test_{key}.py").is_file()


def test_the_catalog_holds_at_least_fifteen_vendors() -> None:
    assert len(CATALOG) >= 15, sorted(CATALOG)


def test_every_catalog_file_is_a_description_then_a_source() -> None:
    for path in sorted((REPO / "sources" / "_catalog").glob("*.yaml")):
        head, body = path.read_text().split("\n---\n", 1)
        meta = yaml.safe_load(head)
        assert {"vendor", "loads", "docs", "secrets"} <= set(meta), path.name
        assert "name: ${name}" in body and "owner: ${owner}" in body, path.name


def test_a_missing_answer_names_the_flag_and_a_bad_one_the_example(tmp_path: Path) -> None:
    key = next(k for k, t in sorted(CATALOG.items()) if t.asks)
    ask = CATALOG[key].asks[0]
    with pytest.raises(ScaffoldError, match=rf"--set {ask.key}=\.\.\. is required"):
        scaffold_from_catalog(tmp_path, key, {"name": "vendor_x", "owner": "team:x"}, {})
    with pytest.raises(ScaffoldError, match="no connector 'nope' in the catalog"):
        scaffold_from_catalog(tmp_path, "nope", {"name": "vendor_x", "owner": "team:x"}, {})


def test_the_cli_lists_the_catalog_and_writes_from_it(tmp_path: Path) -> None:
    cli = [str(Path(sys.executable).parent / "sourcegate")]
    listed = subprocess.run([*cli, "templates"], cwd=REPO, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    for key, template in CATALOG.items():
        assert f"{template.vendor}: {template.loads}" in listed.stdout
        assert listed.stdout.count(f"\n{key} ") + listed.stdout.startswith(f"{key} ") == 1
    key = "klaviyo"
    args = [*cli, "new", "klaviyo_eu", "--from", key, "--owner", "team:crm"]
    args += ["--set", "start_date=2026-01-01", "--sources", str(tmp_path)]
    made = subprocess.run(args, cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert made.returncode == 0, made.stderr
    assert "KLAVIYO_EU_API_KEY: a private API key" in made.stdout
    assert load_source_file(tmp_path / "klaviyo_eu.yaml").errors == []


def test_an_answer_the_connector_does_not_ask_for_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="--set start-date: the klaviyo connector asks for"):
        scaffold_from_catalog(
            tmp_path, "klaviyo", {"name": "klaviyo_x", "owner": "team:x"}, {"start-date": "x"}
        )


def test_a_description_given_replaces_the_connectors_own(tmp_path: Path) -> None:
    answers = {"name": "klaviyo_eu", "owner": "team:crm", "description": 'EU shop: "VIP" list'}
    path = scaffold_from_catalog(tmp_path, "klaviyo", answers, {"start_date": "2026-01-01"})
    result = load_source_file(path)
    assert result.errors == []
    assert result.source.spec.description == 'EU shop: "VIP" list'
    assert path.read_text().count("description:") == 1
