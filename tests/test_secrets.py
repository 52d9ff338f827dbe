"""Secrets: literals are rejected at validation; real values never reach logs or errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInstance

from pipelines.spec.registry import load_source_file
from tests.fake_api import FakeApi, serve, stripe_api, stripe_customers

HEAD = "name: leaky_source\ndescription: x\nowner: ana@example.com\n"
REST = (
    HEAD
    + "rest_api:\n  client:\n    base_url: https://api.example.com/\n"
    + "{client}  resources:\n{resources}"
)
ONE_RESOURCE = "    - name: contacts\n      endpoint: {path: contacts}\n"

LITERAL_SECRETS = [
    (
        "bearer_token",
        REST.format(client="    auth: {type: bearer, token: abc123}\n", resources=ONE_RESOURCE),
        7,
        "rest_api.client.auth.token: a literal secret is not allowed here; "
        "write {secret: LEAKY_SOURCE_TOKEN}",
    ),
    (
        "basic_password",
        REST.format(
            client="    auth: {type: http_basic, username: ana, password: hunter2}\n",
            resources=ONE_RESOURCE,
        ),
        7,
        "rest_api.client.auth.password: a literal secret",
    ),
    (
        "api_key",
        REST.format(
            client="    auth: {type: api_key, name: key, api_key: k-123, location: query}\n",
            resources=ONE_RESOURCE,
        ),
        7,
        "rest_api.client.auth.api_key: a literal secret",
    ),
    (
        "oauth_client_secret",
        REST.format(
            client="    auth:\n      type: oauth2_client_credentials\n"
            "      access_token_url: https://auth.example.com/token\n"
            "      client_id: {secret: CLIENT_ID}\n      client_secret: s3cr3t\n",
            resources=ONE_RESOURCE,
        ),
        11,
        "rest_api.client.auth.client_secret: a literal secret",
    ),
    (
        "database_url_with_password",
        HEAD + "sql_database:\n  credentials: {secret: DB_URL}\n  schema: public\n"
        "  tables:\n    - name: accounts\n      incremental:\n"
        "        cursor_column: updated_at\n        initial_value: postgresql://app:pw@db/crm\n",
        11,
        "this URL contains a password",
    ),
    (
        "known_token_prefix_in_header",
        REST.format(
            client="    headers: {Stripe-Version: '2024-06', X-Custom: sk_live_51Habcdefghijkl}\n",
            resources=ONE_RESOURCE,
        ),
        7,
        "rest_api.client.headers.X-Custom: this value looks like a credential",
    ),
    (
        "high_entropy_param",
        REST.format(
            client="",
            resources="    - name: contacts\n      endpoint:\n        path: contacts\n"
            "        params: {key: Zq8vN3kLp2Xr7TbW9yHc4MdF6gJs}\n",
        ),
        11,
        "rest_api.resources[0].endpoint.params.key: this value looks like a credential",
    ),
    (
        "authorization_header",
        REST.format(
            client="    headers: {Authorization: Bearer abcdefgh12345678}\n", resources=ONE_RESOURCE
        ),
        7,
        "rest_api.client.headers.Authorization: a literal secret",
    ),
]


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [pytest.param(b, line, f, id=case) for case, b, line, f in LITERAL_SECRETS],
)
def test_each_kind_of_literal_secret_is_rejected(
    tmp_path: Path, body: str, line: int, fragment: str
):
    path = tmp_path / "leaky_source.yaml"
    path.write_text(body)
    errors = load_source_file(path).errors
    assert any(fragment in e.message and e.line == line for e in errors), [
        (e.line, e.message) for e in errors
    ]
    secret_like = (
        "abc123",
        "hunter2",
        "k-123",
        "s3cr3t",
        ":pw@",
        "sk_live_51",
        "Zq8vN3k",
        "abcdefgh",
    )
    assert not any(s in e.message for e in errors for s in secret_like)


def test_references_and_ordinary_values_are_not_mistaken_for_secrets(repo: Path) -> None:
    for path in sorted((repo / "sources").glob("*.yaml")):
        assert load_source_file(path).errors == [], path


def _all_event_text(instance: DagsterInstance, run_id: str) -> str:
    return "\n".join(repr(record) for record in instance.all_logs(run_id))


@pytest.mark.dagster
def test_a_secret_never_appears_in_run_logs_metadata_or_errors(
    sources_copy: Path, materialize_sources, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    token = "sk_test_4eC39HqLyjWDarjtT1zdp7dcTOPSECRET"
    monkeypatch.setenv("STRIPE_API_KEY", token)
    spec = sources_copy / "stripe_customers.yaml"
    original = spec.read_text()
    with DagsterInstance.ephemeral() as instance:
        with serve(stripe_api(token, stripe_customers(150))) as api:
            spec.write_text(original.replace("https://api.stripe.com/v1/", f"{api.base_url}v1/"))
            ok = materialize_sources(sources_copy, ["stripe_customers"], instance=instance)
        assert ok.success, ok.failure
        assert token not in _all_event_text(instance, ok.result.run_id)

        # the same key sent as a query parameter, to an endpoint that does not exist
        broken = FakeApi(token=token)
        with serve(broken) as api:
            spec.write_text(
                original.replace("https://api.stripe.com/v1/", f"{api.base_url}v1/").replace(
                    "      type: bearer\n      token: {secret: STRIPE_API_KEY}",
                    "      type: api_key\n      name: api_key\n      location: query\n"
                    "      api_key: {secret: STRIPE_API_KEY}",
                )
            )
            failed = materialize_sources(sources_copy, ["stripe_customers"], instance=instance)
        assert broken.requests and token in broken.requests[0].query.values()
        assert not failed.success
        assert "HTTP 404" in failed.failure and token not in failed.failure
        assert token not in _all_event_text(instance, failed.result.run_id)
    captured = capfd.readouterr()
    assert token not in captured.out + captured.err
