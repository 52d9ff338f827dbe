"""What a column's name says about keys: whose id it is, which table it names, whether it is a
time. `quality.suggestions` reads them to tell a key from values that are distinct by chance.

Names are compared as dlt lands them (snake_case, `__` between nested levels); a table's entity
is the singular of its last word (`crm_contacts` -> contact, `orders__line_items` -> line_item).
"""

from __future__ import annotations

import re

# `contact_id`, `uuid`, `relationships__profile__data__id`: group 1 is what the id identifies.
_ID_NAME = re.compile(r"(?:(.*?)_{1,2})?(?:id|uuid|guid)")
_TIME_NAME = re.compile(r"(^|_)(at|on)$|(date|time|stamp)$|^(created|updated|modified)$")
_IRREGULAR_PLURALS = {"people": "person", "children": "child"}


def names_a_time(column: str) -> bool:
    """Whether ``column`` is named like a time (`created_at`, `signup_date`, `createdate`)."""
    return bool(_TIME_NAME.search(column.split("__")[-1]))


def id_owner(column: str) -> str | None:
    """What an id-named column identifies: `contact_id` -> `contact`, `id` -> '' (the row
    itself), `data__id` -> `data`; None when the name is no id."""
    match = _ID_NAME.fullmatch(column)
    return None if match is None else match.group(1) or ""


def same_entity(owner: str, table: str) -> bool:
    """Whether ``owner`` (`contact`, `crm_contact`) names the rows of ``table`` (`contacts`,
    `crm_contacts`, a nested `orders__line_items` for `line_item` or `item`)."""
    entities = _singulars(_words(table.split("__")[-1]))
    for name in _singulars(_words(owner)):
        for entity in entities:
            shorter, longer = sorted((name, entity), key=len)
            if longer[len(longer) - len(shorter) :] == shorter:
                return True
    return False


def mentions(column: str, table: str) -> bool:
    """Whether ``column`` names ``table``'s entity: `attributes__profile_id` and `profiles`."""
    words = _words(column)
    for entity in _singulars(_words(table.split("__")[-1])):
        for form in (entity, entity[-1:]):
            if any(words[i : i + len(form)] == form for i in range(len(words))):
                return True
    return False


def _words(name: str) -> list[str]:
    return [w for w in name.split("_") if w]


def _singulars(words: list[str]) -> list[list[str]]:
    """``words`` with the last one as written and in each singular it may have: `categories`
    -> category, `addresses` -> address, `statuses` -> status, `contacts` -> contact."""
    if not words:
        return []
    *head, last = words
    forms = {last, _IRREGULAR_PLURALS.get(last, last)}
    if last.endswith("ies"):
        forms.add(last[:-3] + "y")
    if last.endswith("es"):
        forms.add(last[:-2])
    if last.endswith("s") and not last.endswith("ss"):
        forms.add(last[:-1])
    return [[*head, form] for form in sorted(forms)]
