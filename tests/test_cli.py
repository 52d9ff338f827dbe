"""The `sourcegate` command as a marketer and the scheduler use it: real processes, real files."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import isolated_env
from tests.spec.invalid_specs import VALID


def _sourcegate(repo: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    full_env = {k: v for k, v in os.environ.items() if k not in ("HUBSPOT_TOKEN", "STRIPE_API_KEY")}
    full_env.update(env or {})
    return subprocess.run(
        [str(repo / ".venv/bin/sourcegate"), *args],
        cwd=cwd or repo,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_validate_is_clean_on_the_bundled_sources(repo: Path) -> None:
    done = _sourcegate(repo, "validate", "sources/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok: 5 source file(s) valid"


def test_validate_prints_file_line_message_and_exits_1(repo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "bad_source.yaml").write_text(VALID.replace("format: csv", "format: xlsx"))
    (folder / "good_source.yaml").write_text(VALID.replace("bad_source", "good_source"))
    done = _sourcegate(repo, "validate", "sources", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0] == (
        "sources/bad_source.yaml:7: files.format: Input should be 'csv', 'jsonl' or 'parquet' "
        "(got 'xlsx')"
    )
    assert lines[-1] == "1 error(s) in 1 of 2 file(s)"


@pytest.mark.dagster
def test_run_loads_everything_runnable_skips_missing_tokens_and_records_in_dagster(
    repo: Path, tmp_path: Path
) -> None:
    env = isolated_env(tmp_path, SOURCEGATE_PII_SALT="cli-salt")
    done = _sourcegate(repo, "run", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "[3/5] hubspot_contacts: skipped: set the environment variable HUBSPOT_TOKEN" in out
    assert "[4/5] stripe_customers: skipped: set the environment variable STRIPE_API_KEY" in out
    table = [line.split() for line in out.splitlines() if line.startswith(("crm_", "web", "ad_"))]
    assert ["crm_contacts", "contacts", "430", "400", "5/0", "(+1", "warn)", "ok"] in table
    assert ["webshop_orders", "orders", "900", "900", "6/0", "ok"] in table
    assert ["ad_spend", "daily_spend", "186", "186", "6/0", "ok"] in table
    assert "crm_contacts.contacts: check match_regex__country failed (warn)" in out

    # the run went into the shared instance, so `make dev` shows it with its check results
    code = (
        "from dagster import DagsterInstance, AssetKey\n"
        "i = DagsterInstance.get()\n"
        "e = i.get_latest_materialization_event(AssetKey(['crm_contacts', 'contacts']))\n"
        "print(e.asset_materialization.metadata['dagster/row_count'].value)\n"
    )
    check = subprocess.run(
        [str(repo / ".venv/bin/python"), "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "400"

    # ... and `sourcegate scorecard` grades every bundled source from it
    done = _sourcegate(repo, "scorecard", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    grades = {line.split()[0]: line.split()[2:4] for line in done.stdout.splitlines()[4:9]}
    # crm_contacts: 5 checks pass and a warn check fails (50): quality 91.7; fresh and
    # reliable (100 each): (0.25 * 100 + 0.30 * 91.7 + 0.25 * 100) / 0.80 = 96.9
    assert grades == {
        "ad_spend": ["A", "100.0"],
        "crm_contacts": ["A", "96.9"],
        "hubspot_contacts": ["F", "0.0"],
        "stripe_customers": ["F", "0.0"],
        "webshop_orders": ["A", "100.0"],
    }
    assert "hubspot_contacts: never loaded" in done.stdout


@pytest.mark.dagster
def test_run_exits_1_when_an_error_check_fails(
    repo: Path, tmp_path: Path, sources_copy: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    rows = list(csv.DictReader((repo / "data/samples/crm/contacts_2026-11-01.csv").open()))
    rows[5]["lifecycle_stage"] = "prospect"
    with (drop / "contacts_1.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    spec = sources_copy / "crm_contacts.yaml"
    spec.write_text(spec.read_text().replace("bucket_url: data/samples/crm", f"bucket_url: {drop}"))
    env = isolated_env(tmp_path)
    done = _sourcegate(repo, "run", "crm_contacts", "--sources", str(sources_copy), env=env)
    assert done.returncode == 1, done.stdout
    assert "crm_contacts.contacts: check in_set__lifecycle_stage FAILED (error)" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_run_rejects_unknown_names(repo: Path, tmp_path: Path) -> None:
    done = _sourcegate(repo, "run", "no_such_source", env={"DAGSTER_HOME": str(tmp_path)})
    assert done.returncode == 2
    assert "error: cannot run 'no_such_source': no such source" in done.stdout
