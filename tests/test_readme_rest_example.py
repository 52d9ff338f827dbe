"""The README's worked REST example (a JSON:API vendor), copied from sources/README.md as it is,
run twice through Dagster against a loopback fake of the vendor: what the text promises holds."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fake_api import serve
from tests.fake_jsonapi import events, klaviyo_api, profiles

pytestmark = pytest.mark.dagster

KEY = "pk_3f9a0c2b7d1e4f5a6b8c9d0e1f2a3b4c"
EXAMPLE_HEADING = "### REST API, worked through: a JSON:API vendor (Klaviyo)"


def readme_example() -> str:
    """The first YAML block after the worked example's heading."""
    text = (REPO / "sources" / "README.md").read_text()
    section = text[text.index(EXAMPLE_HEADING) :]
    return re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)


def test_the_worked_json_api_example_loads_incrementally_with_pii_and_references(
    tmp_path: Path, materialize_sources, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAVIYO_API_KEY", KEY)
    people = profiles(150)
    happenings = events(120, profile_count=150)
    api = klaviyo_api(KEY, {"profiles": (people, "updated"), "events": (happenings, "datetime")})
    sources = tmp_path / "sources"
    sources.mkdir()
    with serve(api):
        example = readme_example()
        assert "https://a.klaviyo.com/api/" in example
        source = sources / "klaviyo_engagement.yaml"
        source.write_text(example.replace("https://a.klaviyo.com/api/", f"{api.base_url}api/"))
        first = materialize_sources(sources)
        assert first.success, first.failure
        profile_pages = api.requests_to("/api/profiles")
        # page[size] 100: two pages; the filter starts at initial_value and rides in links.next
        assert [r.query.get("page[cursor]") for r in profile_pages] == [None, "100"]
        assert {r.query["filter"] for r in profile_pages} == {
            "greater-than(updated,2026-01-01T00:00:00+00:00)"
        }
        assert all(r.headers["authorization"] == f"Klaviyo-API-Key {KEY}" for r in profile_pages)

        # one profile changes and two events happen; the next run asks only for what is newer
        people[3]["attributes"]["updated"] = "2026-03-01T00:00:00+00:00"
        happenings += events(122, profile_count=150)[120:]
        happenings[-2]["id"], happenings[-1]["id"] = "01EVENTNEW0001", "01EVENTNEW0002"
        happenings[-2]["attributes"]["datetime"] = "2026-03-02T00:00:00+00:00"
        happenings[-1]["attributes"]["datetime"] = "2026-03-02T00:01:00+00:00"
        api.requests.clear()
        second = materialize_sources(sources)
        assert second.success, second.failure

    last_profile = "2026-01-07T06:00:00+00:00"  # the 150th profile's `updated`
    assert [r.query["filter"] for r in api.requests_to("/api/profiles")] == [
        f"greater-than(updated,{last_profile})"
    ]
    assert second.materializations[("klaviyo_engagement", "profiles")]["rows_loaded"] == 1
    assert second.materializations[("klaviyo_engagement", "events")]["rows_loaded"] == 2

    assert query("select count(*) from klaviyo_engagement.profiles") == [(150,)]
    assert query("select count(*) from klaviyo_engagement.events") == [(122,)]
    columns = {
        name
        for (name,) in query(
            "select column_name from information_schema.columns "
            "where table_schema = 'klaviyo_engagement' and table_name = 'profiles'"
        )
    }
    assert "attributes__email" in columns
    assert not {c for c in columns if re.search("phone|first_name|last_name|location", c)}
    expected = hashlib.sha256(b"test-salt" + b"person7@example.com").hexdigest()
    assert query(
        "select attributes__email from klaviyo_engagement.profiles where id = '01PROFILE000007'"
    ) == [(expected,)]
    assert query(
        "select typeof(attributes__event_properties__value), "
        "relationships__profile__data__id from klaviyo_engagement.events "
        "where id = '01EVENT0000003'"
    ) == [("DOUBLE", "01PROFILE000003")]
    checks = {key[-1]: c for key, c in second.checks.items()}
    assert set(checks) == {
        "unique__id",
        "not_null__attributes__email",
        "not_null__attributes__datetime",
        "references__relationships__profile__data__id",
    }
    assert all(c.passed for c in checks.values())
