"""The source-file contract: bundled files validate, and each typical mistake is explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.spec.registry import load_registry, load_source_file
from tests.spec.invalid_specs import FILE_STEMS, INVALID_SPECS, VALID


def test_every_bundled_source_validates(repo: Path) -> None:
    registry = load_registry(repo / "sources", reserved_names={"marketing"})
    assert [str(e) for e in registry.errors] == []
    assert {s.name for s in registry.sources} == {
        "ad_spend",
        "crm_contacts",
        "hubspot_contacts",
        "stripe_customers",
        "webshop_orders",
    }


def test_the_base_of_the_invalid_table_is_itself_valid(tmp_path: Path) -> None:
    path = tmp_path / "bad_source.yaml"
    path.write_text(VALID)
    result = load_source_file(path, {"marketing"})
    assert result.errors == [] and result.warnings == []
    assert result.source.spec.table_names() == ["contacts"]


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [pytest.param(body, line, frag, id=case) for case, body, line, frag in INVALID_SPECS],
)
def test_invalid_spec_is_rejected_with_message_and_line(
    request: pytest.FixtureRequest, tmp_path: Path, body: str, line: int, fragment: str
) -> None:
    case = request.node.callspec.id
    path = tmp_path / f"{FILE_STEMS.get(case, 'bad_source')}.yaml"
    path.write_text(body)
    errors = load_source_file(path, {"marketing"}).errors
    assert errors, "the file was accepted"
    rendered = [f"{e.line}: {e.message}" for e in errors]
    assert any(fragment in e.message and e.line == line for e in errors), rendered
    assert all(str(e).startswith(f"{path}:") for e in errors)


def test_all_errors_in_one_file_are_listed_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad_source.yaml"
    path.write_text(
        VALID.replace("owner: team:marketing-ops", "owner: nobody").replace(
            "format: csv", "format: xlsx"
        )
    )
    errors = load_source_file(path).errors
    assert sorted(e.line for e in errors) == [3, 7]


def test_secret_values_are_never_echoed_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad_source.yaml"
    path.write_text(
        "name: bad_source\ndescription: x\nowner: ana@example.com\nrest_api:\n"
        "  client:\n    base_url: https://api.example.com/\n"
        "    auth: {type: bearer, token: {secret: API_TOKEN}, tokn: 1}\n"
        "  resources: [contacts]\n"
    )
    errors = load_source_file(path).errors
    assert any("unexpected fields" in e.message for e in errors), errors
