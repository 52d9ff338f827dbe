"""Property test: whatever YAML arrives, the spec loader answers with findings, never a crash."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.spec.registry import load_source_text

REPO = Path(__file__).resolve().parent.parent
BUNDLED = [yaml.safe_load(p.read_text()) for p in sorted((REPO / "sources").glob("*.yaml"))]
KEYS = sorted({k for doc in BUNDLED for k in doc} | {"files", "rest_api", "sql_database", "expect"})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["csv", "evolve", "error", "not_null", "0 6 * * *", "{secret: X}", "team:x"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=12)), children, max_size=5
        ),
    ),
    max_leaves=25,
)


def _check(text: str) -> None:
    result = load_source_text(text, Path("sources/prop_source.yaml"))
    for finding in [*result.errors, *result.warnings]:
        assert isinstance(finding.message, str) and finding.message
        assert isinstance(finding.line, int) and finding.line >= 1
    assert (result.source is None) == bool(result.errors)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_arbitrary_yaml_documents_only_ever_give_findings(document: object) -> None:
    _check(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(range(len(BUNDLED))),
    st.lists(st.tuples(st.sampled_from(KEYS), documents), min_size=1, max_size=3),
    st.lists(st.sampled_from(KEYS), max_size=2),
)
def test_mutations_of_bundled_sources_only_ever_give_findings(
    index: int, replacements: list[tuple[str, object]], removals: list[str]
) -> None:
    document = dict(BUNDLED[index])
    for key, value in replacements:
        document[key] = value
    for key in removals:
        document.pop(key, None)
    _check(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_only_ever_gives_findings(text: str) -> None:
    _check(text)
