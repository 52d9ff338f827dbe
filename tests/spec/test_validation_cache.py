"""`validate` skips dlt's checks for `rest_api:` blocks that passed before, and only for those.

Real source files, a real warehouse state folder and the real cache file; nothing is mocked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.cli import validate
from pipelines.kinds.rest_api.validation_cache import CACHE_FILE, ValidationCache

HEAD = "name: {name}\ndescription: x\nowner: team:marketing-ops\nrest_api:\n"
MISSING_PARENT = (
    "  client:\n    base_url: https://api.vendor-one.io/\n"
    "  resources:\n    - users\n"
    "    - name: orders\n"
    '      endpoint: "x/{resources.nope.id}"\n'
)
TOKEN_VALUE = "hubspot-token-value-that-must-never-be-stored-7f3a9c"


@pytest.fixture
def cache_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache file of a warehouse of this test's own."""
    monkeypatch.setenv("SOURCEGATE_WAREHOUSE", str(tmp_path / "wh" / "marketing.duckdb"))
    return tmp_path / "wh" / ".marketing_dlt" / CACHE_FILE


@pytest.fixture
def folder(repo: Path, tmp_path: Path) -> Path:
    """Two bundled REST sources and one file source, copied."""
    target = tmp_path / "sources"
    target.mkdir()
    for name in ("hubspot_contacts", "stripe_customers", "crm_contacts"):
        (target / f"{name}.yaml").write_text((repo / "sources" / f"{name}.yaml").read_text())
    return target


def _validate(
    folder: Path, capsys: pytest.CaptureFixture[str], no_cache: bool = False
) -> tuple[int, str, str]:
    code = validate.command(argparse.Namespace(paths=[folder], sources=None, no_cache=no_cache))
    out, err = capsys.readouterr()
    return code, out, err


def _entries(cache_file: Path) -> dict[str, int]:
    return json.loads(cache_file.read_text())["passed"]


def _key(cache_file: Path, source: Path, dlt_version: str | None = None) -> str | None:
    block = yaml.safe_load(source.read_text())["rest_api"]
    return ValidationCache.load(cache_file, dlt_version).key(block)


def _write_problem_file(folder: Path) -> Path:
    path = folder / "broken_rest.yaml"
    path.write_text(HEAD.format(name="broken_rest") + MISSING_PARENT)
    return path


def test_a_warm_run_says_exactly_what_a_cold_one_says(
    folder: Path, cache_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_problem_file(folder)
    cold = _validate(folder, capsys)
    assert cache_file.exists()
    assert len(_entries(cache_file)) == 2  # the two good REST blocks, not the broken one
    warm = _validate(folder, capsys)
    uncached = _validate(folder, capsys, no_cache=True)
    assert cold == warm == uncached
    assert cold[0] == 1
    assert "broken_rest.yaml:10: rest_api.resources[1].endpoint: dlt cannot build" in cold[2]


def test_a_problem_file_is_checked_again_every_time(
    folder: Path, cache_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _write_problem_file(folder)
    first = _validate(folder, capsys)
    second = _validate(folder, capsys)
    assert first == second
    (line,) = [x for x in second[2].splitlines() if "broken_rest.yaml" in x]
    assert line.startswith(f"{broken}:10: rest_api.resources[1].endpoint: dlt cannot build ")
    assert "A dependent resource 'orders' refers to non existing parent resource 'nope'" in line
    assert line.endswith("; name a parent resource that this file defines")
    assert _key(cache_file, broken) not in _entries(cache_file)


def test_editing_a_file_checks_it_again(
    folder: Path, cache_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = folder / "hubspot_contacts.yaml"
    assert _validate(folder, capsys)[0] == 0
    before = _key(cache_file, source)
    assert before in _entries(cache_file)
    # the same file, now with a path placeholder dlt cannot fill
    text = source.read_text().replace(
        "path: crm/v3/objects/contacts", "path: crm/v3/objects/{object_type}"
    )
    source.write_text(text)
    assert _key(cache_file, source) != before
    code, _, err = _validate(folder, capsys)
    assert code == 1
    line = text.splitlines().index("        path: crm/v3/objects/{object_type}") + 1
    assert f"hubspot_contacts.yaml:{line}: rest_api.resources[0].endpoint.path: " in err
    assert _key(cache_file, source) not in _entries(cache_file)
    assert _validate(folder, capsys, no_cache=True)[2] == err


@pytest.mark.parametrize(
    "garbage",
    [b"{not json", b"\xff\xfe\x00binary", b'{"format": 1, "passed": [1, 2]}', b"[]", b""],
)
def test_a_corrupt_cache_file_is_ignored_and_replaced(
    folder: Path, cache_file: Path, capsys: pytest.CaptureFixture[str], garbage: bytes
) -> None:
    expected = _validate(folder, capsys, no_cache=True)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_bytes(garbage)
    assert _validate(folder, capsys) == expected
    assert len(_entries(cache_file)) == 2
    assert [p.name for p in cache_file.parent.iterdir()] == [CACHE_FILE]  # no temporary left


def test_a_cache_that_cannot_be_written_is_no_error(
    folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the state folder's parent would be")
    monkeypatch.setenv("SOURCEGATE_WAREHOUSE", str(blocker / "wh" / "marketing.duckdb"))
    code, out, _ = _validate(folder, capsys)
    assert code == 0
    assert "ok: 3 source file(s) valid" in out


def test_another_dlt_version_misses(
    folder: Path, cache_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _validate(folder, capsys)[0] == 0
    source = folder / "stripe_customers.yaml"
    block = yaml.safe_load(source.read_text())["rest_api"]
    current = ValidationCache.load(cache_file)
    other = ValidationCache.load(cache_file, dlt_version="0.0.1")
    assert current.passed(current.key(block))
    assert other.key(block) != current.key(block)
    assert not other.passed(other.key(block))


def test_no_secret_value_lands_in_the_cache_file(
    folder: Path,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HUBSPOT_TOKEN", TOKEN_VALUE)
    literal = folder / "literal_token.yaml"
    literal.write_text(
        HEAD.format(name="literal_token")
        + "  client:\n    base_url: https://api.vendor-one.io/\n"
        + f"    auth: {{type: bearer, token: {TOKEN_VALUE}}}\n"
        + "  resources: [users]\n"
    )
    code, _, err = _validate(folder, capsys)
    assert code == 1
    assert "literal_token.yaml:7: rest_api.client.auth.token: a literal secret" in err
    text = cache_file.read_text()
    assert TOKEN_VALUE not in text
    assert TOKEN_VALUE[:12] not in text
    assert "HUBSPOT_TOKEN" not in text  # keys are digests: not even a secret's name shows
    assert len(_entries(cache_file)) == 2
    # a block holding a literal secret is never recorded, even though dlt builds it
    assert _key(cache_file, literal) not in _entries(cache_file)


def test_a_warm_run_of_rest_sources_does_not_import_dlt(
    repo: Path, folder: Path, cache_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "crm_contacts.yaml").unlink()  # a file source's column check reads with dlt
    assert _validate(folder, capsys)[0] == 0
    script = (
        "import sys\n"
        "from pipelines.cli import main\n"
        f"sys.argv = ['sourcegate', 'validate', {str(folder)!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('dlt imported:', 'dlt' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=repo,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "ok: 2 source file(s) valid" in done.stdout
    assert "dlt imported: False" in done.stdout
