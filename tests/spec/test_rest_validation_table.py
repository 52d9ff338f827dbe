"""`validate` is as strict as dlt on REST configs, and no stricter without naming a rule.

Every VALID config is also built by dlt itself (`rest_api_source`), and every INVALID one that
is not a sourcegate rule is refused by dlt itself, so the table cannot drift from dlt.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelines.kinds.rest_api.offline_build import with_dummy_secrets
from pipelines.spec.registry import load_source_text
from tests.spec.rest_configs import INVALID, VALID, marked_line

SOURCEGATE_RULES = {
    "api_key_shorthand",
    "bearer_without_token",
    "http_basic_shorthand",
    "oauth2_without_client_secret",
    "endpoint_auth_shorthand",
    "bare_number_resource",
    "table_name_not_identifier",
    "dict_name_not_identifier",
    "no_base_url",
}


def _validate(text: str):
    return load_source_text(text, Path("sources/rest_case.yaml"))


def _dlt_builds(text: str) -> None:
    from dlt.sources.rest_api import rest_api_source

    config = with_dummy_secrets(yaml.safe_load(text)["rest_api"])
    rest_api_source(config, name="rest_case")


def test_the_table_is_big_enough() -> None:
    assert len(VALID) >= 25 and len(INVALID) >= 25


@pytest.mark.parametrize("text", [pytest.param(text, id=case) for case, text in VALID])
def test_a_config_dlt_accepts_is_accepted(text: str) -> None:
    _dlt_builds(text)
    result = _validate(text)
    assert [str(e) for e in result.errors] == []
    assert result.source is not None


@pytest.mark.parametrize(
    ("case", "text", "fragment"),
    [pytest.param(case, text, frag, id=case) for case, text, frag in INVALID],
)
def test_a_config_dlt_refuses_is_refused_on_its_line(case: str, text: str, fragment: str) -> None:
    errors = _validate(text).errors
    rendered = [f"{e.line}: {e.message}" for e in errors]
    assert any(fragment in e.message for e in errors), rendered
    assert any(e.line == marked_line(text) and fragment in e.message for e in errors), rendered
    if case in SOURCEGATE_RULES:
        assert any(
            "sourcegate" in e.message
            or "rest_api needs" in e.message
            or "each resource is" in e.message
            for e in errors
        ), rendered
    else:
        with pytest.raises(Exception):  # noqa: B017  dlt's own refusal, whatever its type
            _dlt_builds(text)
