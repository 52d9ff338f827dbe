"""PR tooling: plan against a git ref, preview into a throwaway DuckDB, new, and the JSON Schema."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.spec.json_schema import SCHEMA_FILE_NAME, source_json_schema
from pipelines.spec.registry import load_source_file


def _cli(repo: Path, *args: str, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run(
        [str(repo / ".venv/bin/sourcegate"), *args],
        cwd=cwd or repo,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_plan_reports_added_source_removed_pii_rule_and_weakened_check(
    repo: Path, tmp_path: Path
) -> None:
    work = tmp_path / "repo"
    shutil.copytree(repo / "sources", work / "sources")
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", "-A")
    _git(work, "commit", "-qm", "base")

    crm = work / "sources/crm_contacts.yaml"
    crm.write_text(crm.read_text().replace("  drop: [contacts.ip_address]\n", ""))
    orders = work / "sources/webshop_orders.yaml"
    orders.write_text(
        orders.read_text().replace(
            "      column: order_id\n      regex:",
            "      column: order_id\n      severity: warn\n      regex:",
        )
    )
    shutil.copy(repo / "sources/_templates/files.yaml", work / "sources/event_leads.yaml")
    leads = work / "sources/event_leads.yaml"
    leads.write_text(
        leads.read_text()
        .replace("${name}", "event_leads")
        .replace("${owner}", "team:events")
        .replace("${description}", "Leads scanned at trade fairs")
    )
    _git(work, "add", "-A")
    _git(work, "commit", "-qm", "marketing asks for more")

    done = _cli(repo, "plan", "--base", "HEAD~1", "--sources", str(work / "sources"), cwd=work)
    assert done.returncode == 0, done.stderr
    md = done.stdout
    assert "1 added, 2 changed, 0 removed, 2 with warnings" in md
    assert "### `event_leads` (added)" in md
    assert "- owner: team:events; steward: data-platform@example.com" in md
    assert "PII rule removed: contacts.ip_address will now land as raw values" in md
    assert (
        "production check weakened: orders.match_regex__order_id downgraded from error to warn"
        in md
    )
    assert "stripe_customers" not in md  # unchanged sources stay out of the PR comment


def test_plan_names_a_bad_ref(repo: Path) -> None:
    done = _cli(repo, "plan", "--base", "no-such-ref")
    assert done.returncode == 2
    assert done.stderr.startswith("error: git ls-tree")


@pytest.mark.dagster
def test_preview_writes_nothing_to_the_warehouse_and_shows_hashed_values(
    repo: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "wh" / "marketing.duckdb"
    done = _cli(
        repo,
        "preview",
        "crm_contacts",
        "--limit",
        "10",
        env={"SOURCEGATE_WAREHOUSE": str(warehouse), "SOURCEGATE_PII_SALT": "pv"},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert not warehouse.exists() and not warehouse.parent.exists()
    assert "== contacts: 10 rows read" in out
    assert "  ip_address" not in out  # dropped before landing
    first_email = "chloe.rossi1@example.com"
    assert first_email not in out
    assert hashlib.sha256(b"pv" + first_email.encode()).hexdigest()[:27] in out
    assert "not_null__contact_id                     pass" in out
    assert "- {expect: unique, column: contact_id}" in out
    assert "nothing was written to the warehouse." in out


def test_new_scaffolds_a_valid_source_from_flags(repo: Path, tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(repo / "sources/_templates", sources / "_templates")
    for kind in ("files", "rest_api", "sql_database"):
        name = f"new_{kind}"
        done = _cli(
            repo,
            "new",
            "--sources",
            str(sources),
            "--name",
            name,
            "--kind",
            kind,
            "--owner",
            "ana@example.com",
            "--description",
            "A test source",
        )
        assert done.returncode == 0, done.stderr
        result = load_source_file(sources / f"{name}.yaml")
        assert result.errors == [], result.errors
        assert result.source.spec.owner == "ana@example.com"
    again = _cli(
        repo,
        "new",
        "--sources",
        str(sources),
        "--name",
        "new_files",
        "--kind",
        "files",
        "--owner",
        "a@b.co",
        "--description",
        "x",
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    missing = _cli(repo, "new", "--sources", str(sources), "--name", "other_one")
    assert missing.returncode == 2 and "--kind is required" in missing.stderr


def test_committed_json_schema_is_current(repo: Path) -> None:
    committed = (repo / "sources" / SCHEMA_FILE_NAME).read_text()
    assert committed == source_json_schema(), "run `sourcegate schema` and commit the result"
    schema = json.loads(committed)
    assert {"name", "owner", "files", "rest_api", "sql_database", "checks"} <= set(
        schema["properties"]
    )
