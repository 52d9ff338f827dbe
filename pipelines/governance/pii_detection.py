"""Which columns hold personal data, judged from their landed names and a sample of values.

Names catch what a sample may not show (a column that is empty today); values catch what a name
hides (`attributes__contact` holding emails). A value kind counts when at least half of the
sampled values are of that kind (card numbers: four in five, as one random number in ten passes
the Luhn check).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

SAMPLE_VALUES = 50  # non-null values sampled per column

# (what it is, pattern on the landed name with `__` read as `_`), first match wins
_NAME_KINDS = [
    ("email", r"e_?mail|posta_?elettronica"),
    ("IP address", r"ip|ip_?addr(ess)?|ip_?v[46]"),
    (
        "phone number",
        r"phone|mobile|telephone|cell_?phone|phone_?number|tel|fax|whatsapp|msisdn|"
        r"telefono|cellulare|numero_?di_?telefono",
    ),
    ("first name", r"first_?name|given_?name|forename"),
    ("last name", r"last_?name|family_?name|surname|cognome"),
    ("full name", r"full_?name|contact_?name|customer_?name|person_?name"),
    ("birth date", r"birth_?date|birthday|date_of_birth|dob|birth_?day|data_di_nascita"),
    ("IBAN", r"iban"),
    ("tax code", r"tax_?code|tax_?id|codice_?fiscale|fiscal_?code|ssn|national_?id"),
    ("card number", r"card_?number|credit_?card|cc_?number|pan"),
    ("address", r"address|street|address_?line_?\d?|addr|indirizzo"),
]
# an optional plural (`emails`, `addresses`): a list of them is just as personal
_NAME_PATTERNS = [
    (kind, re.compile(rf"(^|_)({pattern})(e?s)?(_|\d|$)")) for kind, pattern in _NAME_KINDS
]

_PEOPLE_TABLE = re.compile(
    r"(customer|contact|user|people|person|profile|member|subscriber|lead|client|employee|"
    r"recipient|patient|student|buyer|shopper|guest|account_?holder|owner|clienti|contatti|"
    r"utenti|iscritti)"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE_SHAPE = re.compile(r"^\+?[\d\s().\-/]{6,24}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_CARD_SHAPE = re.compile(r"^[3-6][\d\s-]{11,22}$")


def pii_kind_of_name(column: str) -> str | None:
    """What the landed column name says the column holds (`billing__email` -> email), or None."""
    name = column.lower().replace("__", "_")
    for kind, pattern in _NAME_PATTERNS:
        if pattern.search(name):
            return kind
    return None


def pii_kind_of_values(values: Iterable[Any]) -> str | None:
    """What a sample of a column's values holds (email, phone number ...), or None."""
    kept = [v.strip() if isinstance(v, str) else v for v in values]
    kept = [v for v in kept if isinstance(v, str | int) and not isinstance(v, bool) and v != ""]
    if not kept:
        return None
    for kind, test, share, at_least in _VALUE_TESTS:
        hits = sum(1 for value in kept if test(value))
        if hits >= max(at_least, share * len(kept)):
            return kind
    return None


def classify_column(column: str, sample: list[Any], table: str = "") -> str | None:
    """Why ``column`` looks personal ("by its name: email", "by its values: phone number").

    A bare `name` counts as a full name in a table of people (`customers`, `contacts` ...).
    A name match is ignored when the sample is all booleans (`email_verified`, `has_phone`),
    and for the looser name patterns (phone, IP) when several values are sampled and none is
    of that kind (`mobile_app_version`, `ip_count`).
    """
    by_values = pii_kind_of_values(sample)
    if by_values:
        return f"by its values: {by_values}"
    by_name = pii_kind_of_name(column) or _person_name(table, column)
    if by_name is None or (sample and all(isinstance(v, bool) for v in sample)):
        return None
    test = _VETO_BY_VALUES.get(by_name)
    # a number read from a file (`3331234567`) is judged as the text it was
    if test and len(sample) >= 3 and not any(test(str(v)) for v in sample):
        return None
    return f"by its name: {by_name}"


def _person_name(table: str, column: str) -> str | None:
    leaf = column.rsplit("__", 1)[-1]
    return "full name" if leaf in ("name", "nome") and _PEOPLE_TABLE.search(table.lower()) else None


def _is_email(value: str | int) -> bool:
    return isinstance(value, str) and bool(_EMAIL.match(value))


def _is_phone(value: str | int) -> bool:
    """Text only: a bare number is more often an id than a phone number."""
    import phonenumbers

    if not isinstance(value, str):
        return False
    text = value
    if not _PHONE_SHAPE.match(text) or _ISO_DATE.match(text) or sum(map(str.isdigit, text)) < 7:
        return False
    for region in ("IT", "US"):
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(text, region)):
                return True
        except phonenumbers.NumberParseException:
            return False
    return False


def _is_iban(value: str | int) -> bool:
    from stdnum import iban

    text = str(value)
    return len(text) >= 15 and text[:2].isalpha() and iban.is_valid(text)


def _is_tax_code(value: str | int) -> bool:
    from stdnum.it import codicefiscale

    text = str(value)
    return len(text) == 16 and codicefiscale.is_valid(text)


def _is_card(value: str | int) -> bool:
    from stdnum import luhn

    text = str(value)
    digits = re.sub(r"[\s-]", "", text)
    return bool(_CARD_SHAPE.match(text)) and 13 <= len(digits) <= 19 and luhn.is_valid(digits)


def _is_ip(value: str | int) -> bool:
    if not isinstance(value, str) or not any(c in value for c in ".:"):
        return False
    text = value
    if text.replace(".", "").isdigit() and text.count(".") != 3:  # 1.5, 10.000.000
        return False
    if text.count(".") == 3 and all(len(part) == 1 for part in text.split(".")):
        return False  # 1.2.3.0 is a version far more often than an address
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# (kind, test, share of the sample that must pass, and at least this many values)
_VALUE_TESTS = [
    ("email", _is_email, 0.5, 1),
    ("IBAN", _is_iban, 0.5, 1),
    ("tax code", _is_tax_code, 0.5, 1),
    ("card number", _is_card, 0.8, 3),  # one test card in an order reference is no card column
    ("IP address", _is_ip, 0.5, 1),
    ("phone number", _is_phone, 0.5, 1),
]
_VETO_BY_VALUES = {"phone number": _is_phone, "IP address": _is_ip}
