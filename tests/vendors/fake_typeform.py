"""A loopback fake of Typeform's Create (forms) and Responses APIs.

What it reproduces, from Typeform's public API reference (https://developer.typeform.com/):
- auth: `Authorization: Bearer <personal access token>`; a missing or wrong token is a 401
  `{"code": "AUTHENTICATION_FAILED", "description": ...}`, the `{code, description}` shape of
  Typeform's errors;
- `GET /forms`: `page` (from 1) and `page_size` (at most 200, default 10), answering
  `{"total_items", "page_count", "items"}`;
- `GET /forms/{form_id}`: the form definition, questions in `fields` and the names of its
  hidden fields in `hidden`; an unknown form is a 404 `FORM_NOT_FOUND`;
- `GET /forms/{form_id}/responses`: newest `submitted_at` first, `page_size` 1-1000 (default
  25); `before=<token>` gives the responses after that one in this order and `after=<token>`
  those before it (neither together with `sort`, a 400); `since`/`until` as Unix seconds or
  ISO 8601 UTC to the second (`2020-03-20T14:00:59`, a trailing `Z` accepted), both inclusive;
  `completed=true` answers only submitted responses and filters on `submitted_at`,
  `completed=false` only partial ones and filters on `landed_at`, and without it all of them,
  filtered on `landed_at`;
- responses as Typeform writes them: `landing_id`, `token`, `response_id`, `response_type`,
  `landed_at`, `submitted_at`, `metadata`, `hidden`, `calculated`, `variables` and `answers`,
  each answer with its `field` and one key named after its type (`email`, `text`,
  `phone_number`, `number`, `choice`).
Not documented, so chosen here: the body of a 429 (`RATE_LIMITED`; Typeform only says it limits
to 2 requests per second) and whether the trailing `Z` of `since` is accepted (the template
sends it; the fake accepts it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fake_api import FakeApi, Request, json_response

FORM_ID = "u6nXL7"
FIRST_SUBMIT = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
RATE_LIMITED = {"code": "RATE_LIMITED", "description": "Too many requests, slow down"}
QUESTIONS = [
    {"id": "fEmail01", "ref": "email", "type": "email", "title": "Your email address?"},
    {"id": "fName001", "ref": "name", "type": "short_text", "title": "What is your name?"},
    {"id": "fPhone01", "ref": "phone", "type": "phone_number", "title": "A phone number?"},
    {"id": "fNps0001", "ref": "nps", "type": "nps", "title": "Would you recommend us?"},
    {"id": "fSource1", "ref": "source", "type": "multiple_choice", "title": "Found us through?"},
    {"id": "fComment", "ref": "comment", "type": "long_text", "title": "Anything to add?"},
]
CHOICES = [("cInsta01", "instagram", "Instagram"), ("cFriend1", "friend", "A friend")]


def stamp(moment: datetime) -> str:
    """A time as Typeform writes it: UTC, to the second, with a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def forms(count: int) -> list[dict[str, Any]]:
    """The account's forms, ``FORM_ID`` first."""
    made = []
    for i in range(count):
        uid = FORM_ID if i == 0 else f"F{i:05d}x"
        made.append(
            {
                "id": uid,
                "type": "quiz" if i % 5 == 0 else "form",
                "title": f"Customer survey {i}",
                "last_updated_at": stamp(FIRST_SUBMIT - timedelta(days=i)),
                "created_at": stamp(FIRST_SUBMIT - timedelta(days=30 + i)),
                "settings": {"is_public": i % 3 != 0, "is_trial": False},
                "self": {"href": f"https://api.typeform.com/forms/{uid}"},
                "theme": {"href": "https://api.typeform.com/themes/qHWOQ7"},
                "_links": {"display": f"https://shop.typeform.com/to/{uid}"},
            }
        )
    return made


def form_definition(uid: str) -> dict[str, Any]:
    """The form's definition: its questions (`fields`) and hidden field names."""
    fields = []
    for question in QUESTIONS:
        field: dict[str, Any] = {
            **question,
            "validations": {"required": question["ref"] == "email"},
        }
        if question["type"] == "multiple_choice":
            field["properties"] = {
                "choices": [{"id": c, "ref": r, "label": label} for c, r, label in CHOICES]
            }
        else:
            field["properties"] = {}
        fields.append(field)
    return {
        "id": uid,
        "title": "Customer survey 0",
        "type": "form",
        "settings": {"language": "en", "is_public": True},
        "fields": fields,
        "hidden": ["utm_source", "customer_id"],
        "_links": {"display": f"https://shop.typeform.com/to/{uid}"},
    }


def _answer(question: dict[str, Any], kind: str, value: Any) -> dict[str, Any]:
    field = {"id": question["id"], "type": question["type"], "ref": question["ref"]}
    return {"field": field, "type": kind, kind: value}


def responses(count: int, partial: int = 0) -> list[dict[str, Any]]:
    """Completed responses ten minutes apart from ``FIRST_SUBMIT``, then ``partial`` ones that
    were never submitted. The phone and comment questions are optional."""
    email, name, phone, nps, source, comment = QUESTIONS
    made = []
    for i in range(count + partial):
        submitted = FIRST_SUBMIT + timedelta(minutes=10 * i)
        answers = [
            _answer(email, "email", f"Person{i}@Example.com"),
            _answer(name, "text", f"First{i} Last{i}"),
        ]
        if i % 4:
            answers.append(_answer(phone, "phone_number", f"+39333{i:07d}"))
        answers.append(_answer(nps, "number", i % 11))
        choice_id, choice_ref, label = CHOICES[i % 2]
        answers.append(
            _answer(source, "choice", {"id": choice_id, "ref": choice_ref, "label": label})
        )
        if i % 3 == 0:
            answers.append(_answer(comment, "text", f"Deliver to Via Roma {i}, please"))
        token = f"{i:08d}a1b2c3d4e5f6a7b8c9d0e1f2"
        response: dict[str, Any] = {
            "landing_id": token,
            "token": token,
            "response_id": token,
            "response_type": "completed",
            "landed_at": stamp(submitted - timedelta(minutes=3)),
            "submitted_at": stamp(submitted),
            "metadata": {
                "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
                "platform": "mobile" if i % 2 else "other",
                "referer": f"https://shop.typeform.com/to/{FORM_ID}?utm_source=mail&email=p{i}",
                "network_id": f"{i * 7919 % 65536:04x}a9c3e1",
                "browser": "default",
            },
            "hidden": {"utm_source": "newsletter", "customer_id": f"C{10000 + i}"},
            "calculated": {"score": 0},
            "variables": [],
            "answers": answers,
        }
        if i >= count:  # landed, started answering, never submitted
            response["response_type"] = "partial"
            response["submitted_at"] = None
            response["answers"] = answers[:1]
        made.append(response)
    return made


def typeform_api(
    token: str, all_forms: list[dict[str, Any]], answers: list[dict[str, Any]]
) -> FakeApi:
    """`/forms`, and `/forms/{FORM_ID}` with its `/responses` (``answers``)."""
    api = FakeApi(token=token, authorized=lambda request: True)  # 401s in Typeform's shape
    api.routes["/forms"] = _guard(token, _list_forms(all_forms))
    api.routes[f"/forms/{FORM_ID}"] = _guard(
        token, lambda r: json_response(200, form_definition(FORM_ID))
    )
    api.routes[f"/forms/{FORM_ID}/responses"] = _guard(token, _list_responses(answers))
    return api


def _error(status: int, code: str, description: str) -> Any:
    return json_response(status, {"code": code, "description": description})


def _guard(token: str, handler):
    def answer(request: Request):
        if request.headers.get("authorization") != f"Bearer {token}":
            return _error(
                401,
                "AUTHENTICATION_FAILED",
                "Authentication credentials not found on the Request Headers",
            )
        return handler(request)

    return answer


def _size(request: Request, default: int, most: int) -> int | None:
    try:
        size = int(request.query.get("page_size", default))
    except ValueError:
        return None
    return size if 1 <= size <= most else None


def _list_forms(all_forms: list[dict[str, Any]]):
    def list_forms(request: Request):
        size = _size(request, 10, 200)
        if size is None:
            return _error(400, "VALIDATION_ERROR", "page_size must be between 1 and 200")
        page = int(request.query.get("page", 1))
        items = all_forms[(page - 1) * size : page * size]
        body = {
            "total_items": len(all_forms),
            "page_count": -(-len(all_forms) // size),
            "items": items,
        }
        return json_response(200, body)

    return list_forms


def _moment(text: str) -> datetime | None:
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        return datetime.strptime(text.removesuffix("Z"), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _list_responses(answers: list[dict[str, Any]]):
    def list_responses(request: Request):
        query = request.query
        size = _size(request, 25, 1000)
        if size is None:
            return _error(400, "VALIDATION_ERROR", "page_size must be between 1 and 1000")
        if "sort" in query and ("before" in query or "after" in query):
            return _error(400, "VALIDATION_ERROR", "before/after cannot be used with sort")
        completed = query.get("completed")
        if completed not in (None, "true", "false"):
            return _error(400, "VALIDATION_ERROR", "completed must be true or false")
        rows = [
            r
            for r in answers
            if completed is None or (r["response_type"] == "completed") == (completed == "true")
        ]
        field = "submitted_at" if completed == "true" else "landed_at"
        for name, keep in (("since", lambda t, m: t >= m), ("until", lambda t, m: t <= m)):
            if name in query:
                moment = _moment(query[name])
                if moment is None:
                    return _error(400, "VALIDATION_ERROR", f"{name} is not a valid date")
                rows = [r for r in rows if keep(_moment(r[field]), moment)]
        rows.sort(key=lambda r: (r["submitted_at"] or r["landed_at"], r["token"]), reverse=True)
        tokens = [r["token"] for r in rows]
        for name in ("before", "after"):
            if name in query:
                if query[name] not in tokens:
                    return _error(400, "VALIDATION_ERROR", f"{name} is not a known response token")
                at = tokens.index(query[name])
                rows = rows[at + 1 :] if name == "before" else rows[:at]
        body = {"total_items": len(rows), "page_count": -(-len(rows) // size), "items": rows[:size]}
        return json_response(200, body)

    return list_responses
