"""Which columns look personal: by their landed names and by a sample of their values."""

from __future__ import annotations

import pytest

from pipelines.governance.pii_detection import classify_column, pii_kind_of_name

BY_VALUES = [
    ("contact", ["ana@acme-mail.io", "bo@x.it", None], "email"),
    ("recapito", ["+39 333 123 4567", "333 765 4321", "02 1234 5678"], "phone number"),
    ("number", ["(415) 555-2671", "+1 212 555 0100"], "phone number"),
    ("conto", ["IT60X0542811101000000123456", "DE89370400440532013000"], "IBAN"),
    ("cf", ["RSSMRA85T10A562S", "BNCGLI90A41H501X"], "tax code"),
    ("pan_text", ["4111 1111 1111 1111", "5500-0055-5555-5559", "4111111111111111"], "card number"),
    ("source", ["10.0.0.1", "2001:db8::1"], "IP address"),
]
NOT_PERSONAL = [
    ("order_id", [1001, 1002, 1003]),
    ("ordered_at", ["2026-11-02", "2026-11-03T10:00:00Z"]),
    ("total_amount", ["12.50", "1234567.89"]),
    ("currency", ["EUR", "USD"]),
    ("campaign_name", ["spring sale", "black friday"]),
    ("email_verified", [True, False, True]),
    ("mobile_app_version", ["1.2.3", "1.2.4", "2.0.0"]),
    ("ip_count", [1, 2, 3]),
    ("sku", ["SOCK-5P", "HAT-02"]),
    ("name", ["Spring campaign"]),  # a bare `name` counts only in a table of people
    ("customer_ref", [2125550100, 3331000000, 2125550101]),  # numbers: ids, not phones
    ("build", ["1.2.3.0", "1.2.4.0"]),  # versions, not IP addresses
    ("order_ref", ["4111111111111111", "ORD-2", "ORD-3"]),  # one test card is no card column
]


@pytest.mark.parametrize(("column", "values", "kind"), BY_VALUES)
def test_values_give_away_personal_data_whatever_the_column_is_called(
    column: str, values: list, kind: str
) -> None:
    assert classify_column(column, values) == f"by its values: {kind}"


@pytest.mark.parametrize(("column", "values"), NOT_PERSONAL)
def test_ordinary_columns_are_not_flagged(column: str, values: list) -> None:
    assert classify_column(column, values, table="campaigns") is None


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("billing__email", "email"),
        ("Phone", "phone number"),
        ("shipping__phone", "phone number"),
        ("firstname", "first name"),
        ("last_name", "last name"),
        ("address__line1", "address"),
        ("date_of_birth", "birth date"),
        ("iban", "IBAN"),
        ("codice_fiscale", "tax code"),
        ("ip_address", "IP address"),
        ("emails", "email"),
        ("phones", "phone number"),
        ("addresses", "address"),
    ],
)
def test_names_give_away_columns_a_sample_cannot(column: str, kind: str) -> None:
    assert pii_kind_of_name(column) == kind
    assert classify_column(column, []) == f"by its name: {kind}"


def test_a_bare_name_is_a_full_name_in_a_table_of_people() -> None:
    assert classify_column("name", ["Spring campaign"], table="customers") == (
        "by its name: full name"
    )
    assert classify_column("shipping__name", [], table="contacts") == "by its name: full name"


def test_a_phone_column_of_numbers_is_still_a_phone_column() -> None:
    """A CSV's digits-only phones arrive as integers; the name is not vetoed by them."""
    assert classify_column("phone", [3331234567, 3477654321, 3281112233]) == (
        "by its name: phone number"
    )
