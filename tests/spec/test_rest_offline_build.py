"""`validate` builds REST sources the way dlt does at run time: offline, with dummy secrets."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from pipelines.kinds.rest_api.config import rest_api_table_names, with_table_names
from pipelines.kinds.rest_api.offline_build import DUMMY_SECRET, with_dummy_secrets
from pipelines.spec.registry import load_source_text

HEAD = "name: rest_case\ndescription: x\nowner: team:marketing-ops\nrest_api:\n"
UNROUTABLE = "http://10.255.255.1:81/"


def _errors(text: str) -> list[str]:
    return [f"{e.line}: {e.message}" for e in load_source_text(text, Path("rest_case.yaml")).errors]


def test_the_build_opens_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    connects: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        connects.append(address)
        raise OSError("no network in validate")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    text = HEAD + (
        f"  client:\n    base_url: {UNROUTABLE}\n"
        "    auth:\n      type: oauth2_client_credentials\n"
        f"      access_token_url: {UNROUTABLE}token\n"
        "      client_id: {secret: CLIENT_ID}\n      client_secret: {secret: CLIENT_SECRET}\n"
        "    paginator: {type: offset, limit: 10, total_path: total}\n"
        "  resources:\n    - users\n    - name: orders\n"
        '      endpoint: "users/{resources.users.id}/orders"\n'
        "    - name: missing_parent\n"
        '      endpoint: "x/{resources.nope.id}"\n'
    )
    started = time.perf_counter()
    errors = _errors(text)
    assert time.perf_counter() - started < 5
    assert connects == []
    (error,) = errors
    assert error.startswith(
        "18: rest_api.resources[2].endpoint: dlt cannot build this source: A dependent resource "
        "'missing_parent' refers to non existing parent resource 'nope'"
    )
    assert error.endswith("; name a parent resource that this file defines")


def test_any_mapping_with_secret_is_a_dummy_value_with_its_prefix() -> None:
    config = {
        "client": {
            "headers": {"Authorization": {"secret": "KLAVIYO_KEY", "prefix": "Klaviyo-API-Key "}},
            "auth": {"token": {"secret": "T"}},
        },
        "resources": [{"endpoint": {"params": {"k": [{"secret": "K"}]}}}],
    }
    filled = with_dummy_secrets(config)
    assert filled["client"]["headers"]["Authorization"] == f"Klaviyo-API-Key {DUMMY_SECRET}"
    assert filled["client"]["auth"]["token"] == DUMMY_SECRET
    assert filled["resources"][0]["endpoint"]["params"]["k"] == [DUMMY_SECRET]
    assert config["client"]["auth"]["token"] == {"secret": "T"}  # the spec is left alone


def test_dlts_side_door_for_credentials_stays_shut(monkeypatch: pytest.MonkeyPatch) -> None:
    # dlt would take the key from here; sourcegate refuses the shorthand all the same
    monkeypatch.setenv("SOURCES__REST_API__CREDENTIALS__API_KEY", "from-the-environment")
    monkeypatch.setenv("SOURCES__REST_API__REST_CASE__CREDENTIALS__API_KEY", "from-the-env")
    text = HEAD + "  client:\n    base_url: https://pokeapi.co/api/v2/\n    auth: api_key\n"
    text += "  resources: [pokemon]\n"
    (error,) = _errors(text)
    assert error.startswith("7: rest_api.client.auth: the shorthand 'api_key' names no credential")
    assert "sourcegate rule: every credential comes from a {secret: NAME}" in error
    assert "from-the-env" not in error


def test_http_basic_without_password_gets_dlts_message_not_the_bearer_shape() -> None:
    text = HEAD + "  client:\n    base_url: https://pokeapi.co/api/v2/\n"
    text += "    auth: {type: http_basic, username: ana}\n  resources: [pokemon]\n"
    errors = _errors(text)
    assert errors == [
        "7: rest_api.client.auth: missing required fields {'password'}; "
        "write each credential as {secret: NAME}"
    ]


@pytest.mark.parametrize(
    ("resource", "table"),
    [
        ("users", "users"),
        ("v2/users", "v2_users"),
        ("crm/v3/objects/contacts", "crm_v3_objects_contacts"),
    ],
)
def test_a_resource_written_as_a_path_string_is_accepted(resource: str, table: str) -> None:
    from dlt.common.normalizers.naming.snake_case import NamingConvention
    from dlt.sources.rest_api import rest_api_source

    text = (
        HEAD + f"  client:\n    base_url: https://pokeapi.co/api/v2/\n  resources: [{resource}]\n"
    )
    result = load_source_text(text, Path("rest_case.yaml"))
    assert result.errors == []
    assert result.source.spec.table_names() == [table]
    assert NamingConvention().normalize_table_identifier(resource) == table  # what dlt lands
    config = with_table_names(result.source.spec.rest_api)
    source = rest_api_source(config, name="rest_case")
    assert [r.table_name for r in source.resources.values()] == [table]
    assert rest_api_table_names(config) == [table]
