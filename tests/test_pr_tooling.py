"""PR tooling: plan against a git ref, preview into a throwaway DuckDB, new, and the JSON Schema."""

from __future__ import annotations

import hashlib
import json
import os
import re
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
    crm.write_text(
        crm.read_text().replace(
            "  drop: [contacts.ip_address, contacts.first_name, contacts.last_name]\n",
            "  drop: [contacts.first_name, contacts.last_name]\n",
        )
    )
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
    assert "1 added, 2 changed, 0 removed, 3 with warnings" in md
    assert "line 7: purpose: TODO left from the template; fill it in before stage: production" in md
    assert "### `event_leads` (added)" in md
    assert "- owner: team:events; steward: data-platform@example.com" in md
    assert "PII rule removed: contacts.ip_address will now land as raw values" in md
    assert (
        "production check weakened: orders.match_regex__order_id downgraded from error to warn"
        in md
    )
    assert "stripe_customers" not in md  # unchanged sources stay out of the PR comment


def test_a_column_moved_from_drop_to_keep_is_warned_about_once(repo: Path) -> None:
    from pipelines.cli.plan import _diff
    from pipelines.spec.registry import load_source_file

    old = load_source_file(repo / "sources/crm_contacts.yaml").source.spec
    pii = old.pii.model_copy(
        update={
            "drop": [c for c in old.pii.drop if c != "contacts.ip_address"],
            "keep": {**old.pii.keep, "contacts.ip_address": "fraud checks need it"},
        }
    )
    change = _diff("crm_contacts", old, old.model_copy(update={"pii": pii}))
    assert change.warnings == [
        "PII kept in clear: contacts.ip_address (fraud checks need it); IT must agree"
    ]
    assert "PII drop removed: contacts.ip_address" in change.details


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
        "--checks",
        env={"SOURCEGATE_WAREHOUSE": str(warehouse), "SOURCEGATE_PII_SALT": "pv"},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert not warehouse.exists() and not warehouse.parent.exists()
    # the first file batch comes whole (the first 300-row export), capped at 1,000 rows
    assert "== contacts: 300 rows read" in out
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


def _glob(pattern: str) -> re.Pattern[str]:
    """A GitHub path filter or CODEOWNERS glob: `**` crosses folders, `*` and `?` do not."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def _pull_request_runs(workflow: dict, changed: list[str]) -> bool:
    """Whether a pull request changing ``changed`` triggers ``workflow`` (GitHub's rules:
    `paths` needs one file to match, `paths-ignore` skips only when every file matches)."""
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    if isinstance(triggers, str | list):
        return "pull_request" in triggers
    if "pull_request" not in triggers:
        return False
    event = triggers["pull_request"] or {}
    if "paths" in event:
        return any(_glob(p).fullmatch(f) for p in event["paths"] for f in changed)
    if "paths-ignore" in event:
        return not all(any(_glob(p).fullmatch(f) for p in event["paths-ignore"]) for f in changed)
    return True


def _commands(workflow: dict) -> list[str]:
    return [
        step["run"]
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
    ]


def _workflows(repo: Path) -> dict[str, dict]:
    import yaml

    folder = repo / ".github" / "workflows"
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.y*ml"))}


@pytest.mark.parametrize(
    "changed",
    [
        ["pipelines/runtime/failures.py"],
        ["quality/runner.py"],
        ["assets/marts/customer_profiles.sql"],
        ["tests/test_cli.py"],
        ["pyproject.toml", "requirements.lock"],
        [".github/workflows/sources.yml"],
        ["sources/crm_contacts.yaml", "pipelines/spec/models.py"],
    ],
)
def test_a_pull_request_that_changes_code_runs_the_test_suite(
    repo: Path, changed: list[str]
) -> None:
    running = [
        name
        for name, workflow in _workflows(repo).items()
        if _pull_request_runs(workflow, changed)
        and any(re.search(r"(^|\s)make test\b", c) for c in _commands(workflow))
    ]
    assert running, f"no pull-request workflow runs `make test` when {changed} change"


def test_a_pull_request_that_changes_a_source_is_still_validated_and_planned(
    repo: Path,
) -> None:
    changed = ["sources/crm_contacts.yaml"]
    commands = [
        command
        for workflow in _workflows(repo).values()
        if _pull_request_runs(workflow, changed)
        for command in _commands(workflow)
    ]
    assert any("sourcegate validate sources/" in c for c in commands), commands
    assert any("sourcegate plan --base" in c for c in commands), commands


def _codeowners_matches(pattern: str, path: str) -> bool:
    """gitignore-style matching, for the forms CODEOWNERS uses here (`*`, `/dir/`, `/file`)."""
    anchored = pattern.startswith("/")
    body = pattern.strip("/")
    regex = _glob(body).pattern
    if pattern.endswith("/"):
        regex += "/.*"
    else:
        regex += "(/.*)?"
    if not anchored and "/" not in body:
        regex = "(.*/)?" + regex
    return re.fullmatch(regex, path) is not None


def _owners(rules: list[tuple[str, list[str]]], path: str) -> list[str]:
    """The owners of ``path``: the last matching rule wins, as on GitHub."""
    owners: list[str] = []
    for pattern, names in rules:
        if _codeowners_matches(pattern, path):
            owners = names
    return owners


def test_codeowners_owns_everything_and_keeps_the_sources_rules(repo: Path) -> None:
    rules = [
        (line.split()[0], line.split()[1:])
        for line in (repo / ".github" / "CODEOWNERS").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert all(names for _, names in rules), "a rule without an owner un-owns its paths"
    # last match wins: a catch-all after the specific rules would override them all
    assert rules[0][0] == "*", "the catch-all `*` must be the first rule"
    assert "*" not in [pattern for pattern, _ in rules[1:]]
    assert ("/sources/", ["@example-org/data-platform"]) in rules
    assert ("/sources/_templates/", ["@example-org/data-platform"]) in rules

    listed = subprocess.run(
        ["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=False
    ).stdout.splitlines()
    paths = listed or [
        "Makefile",
        "README.md",
        "pyproject.toml",
        "requirements.lock",
        "docs/architecture.md",
        "bench/run.py",
        "tests/conftest.py",
        ".github/workflows/sources.yml",
        "data/samples/crm/contacts_2026-11-01.csv",
    ]
    unowned = [p for p in paths if not _owners(rules, p)]
    assert unowned == [], unowned
    assert _owners(rules, "Makefile") == ["@example-org/data-platform"]
    assert _owners(rules, "sources/crm_contacts.yaml") == ["@example-org/data-platform"]
    matched = [p for p, _ in rules if _codeowners_matches(p, "sources/_templates/files.yaml")]
    assert matched[-1] == "/sources/_templates/"  # the specific rule still decides
