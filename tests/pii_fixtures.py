"""PII test data shared by the enforcement and warehouse-scan tests: a nested REST API and a
CSV drop whose headers differ in case from the rules that name them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fake_api import FakeApi, json_response

PII_TOKEN = "pii-fixture-token-7f3a9c"
IBANS = ["IT60X0542811101000000123456", "DE89370400440532013000"]
CARDS = ["4111111111111111", "5500005555555559"]


def people(count: int) -> list[dict[str, Any]]:
    """Profiles with personal data nested two ways: under `attributes` and in sub-objects."""
    return [
        {
            "id": i,
            "plan": "pro" if i % 2 else "free",
            "attributes": {
                "email": f"Person{i}@Acme-Mail.io",
                "phone": f"+39 333 12345{i:02d}",
                "first_name": f"Giulietta{i}",
                "last_name": f"Bianchini{i}",
            },
            "billing": {"email": f"billing{i}@acme-mail.io", "country": "IT"},
            "shipping": {"phone": f"+39 347 76543{i:02d}", "city": "Roma"},
            "address": {"line1": f"Via Verdi {i}", "city": "Roma", "postal_code": "00100"},
        }
        for i in range(count)
    ]


def people_api(records: list[dict[str, Any]]) -> FakeApi:
    """`GET /people`: one page of profiles under `data`, bearer token required."""
    api = FakeApi(token=PII_TOKEN)
    api.routes["/people"] = lambda request: json_response(200, {"data": records})
    return api


def people_source(
    folder: Path, base_url: str, name: str = "people_api", stage: str = "pilot", pii: str = ""
) -> Path:
    """A REST source file reading `/people` into table `people`."""
    production = (
        "steward: it@acme.io\npurpose: Test PII enforcement\nschedule: '0 6 * * *'\n"
        "freshness_hours: 26\n"
        if stage == "production"
        else ""
    )
    text = f"""name: {name}
description: PII test fixture
owner: team:marketing-ops
stage: {stage}
{production}rest_api:
  client:
    base_url: {base_url}
    auth: {{type: bearer, token: {{secret: PII_TOKEN}}}}
  resources:
    - name: people
      endpoint: {{path: people, data_selector: data}}
{pii}
checks:
  people:
    - {{expect: not_null, column: id}}
"""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


LEADS_HEADER = "Lead ID,E-Mail,Phone,First Name,Last Name,IBAN,Card Number,Campaign\n"


def leads_csv(folder: Path, count: int = 6) -> list[dict[str, str]]:
    """A CSV drop with mixed-case headers; returns the rows written."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "Lead ID": str(i),
            "E-Mail": f"Lead{i}@Acme-Mail.io",
            "Phone": f"+39 02 1234 56{i:02d}",
            "First Name": f"Ottavio{i}",
            "Last Name": f"Sgarbossa{i}",
            "IBAN": IBANS[i % 2],
            "Card Number": CARDS[i % 2],
            "Campaign": "spring",
        }
        for i in range(count)
    ]
    lines = [",".join(row.values()) + "\n" for row in rows]
    (folder / "leads_2026-11-01.csv").write_text(LEADS_HEADER + "".join(lines))
    return rows


def leads_source(folder: Path, drop: Path, reader: str = "fast", name: str = "lead_drop") -> Path:
    """A file source over ``drop`` whose rules name the headers in another case."""
    text = f"""name: {name}
description: PII test fixture
owner: team:marketing-ops
stage: pilot
files:
  bucket_url: {drop}
  file_glob: "leads_*.csv"
  format: csv
  table: leads
  primary_key: lead_id
  reader: {reader}
pii:
  hash: [leads.phone, leads.e_mail]
  drop: [leads.first_name, leads.last_name, leads.iban, leads.card_number]
checks:
  leads:
    - {{expect: not_null, column: lead_id}}
"""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path
