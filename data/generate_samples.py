"""Generate the offline sample exports that the bundled file sources read.

Deterministic: the same seed always writes byte-identical files, so the committed samples can be
re-created with `python data/generate_samples.py` and tests can rely on their contents.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "samples"
SEED = 20261101
CONTACTS = 400
ORDERS = 900
FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Dario",
    "Emma",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
    "Mina",
    "Noah",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
]
LAST = [
    "Silva",
    "Meyer",
    "Dubois",
    "Rossi",
    "Novak",
    "Khan",
    "Berg",
    "Moreau",
    "Costa",
    "Weber",
    "Larsen",
    "Ricci",
    "Okafor",
    "Ibsen",
    "Petrov",
    "García",
    "Tanaka",
    "Walsh",
]
COUNTRIES = ["DE", "FR", "NL", "ES", "IT", "GB", "SE", "PL", "US", "PT"]
STAGES = ["subscriber", "lead", "marketing_qualified", "sales_qualified", "customer"]
CAMPAIGNS = [
    ("cmp_001", "Black Friday Teaser", "google_ads"),
    ("cmp_002", "Winter Boots Retargeting", "meta_ads"),
    ("cmp_003", "Newsletter Lookalikes", "meta_ads"),
    ("cmp_004", "Brand Search", "google_ads"),
    ("cmp_005", "Gift Guide Pins", "pinterest_ads"),
    ("cmp_006", "B2B Webinar Promo", "linkedin_ads"),
]


def contacts(rng: random.Random) -> list[dict]:
    """CRM contacts; a few rows carry the everyday mess real exports have."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(1, CONTACTS + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        created = start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 600))
        email = f"{first}.{last}{i}@example.com".lower().replace("é", "e").replace("í", "i")
        country = rng.choice(COUNTRIES)
        if i % 97 == 0:
            country = country.lower()  # a hand-typed country code: the warn-level check sees it
        rows.append(
            {
                "contact_id": i,
                "email": f"  {email.upper()} " if i % 50 == 0 else email,
                "first_name": first,
                "last_name": last,
                "phone": f"+49 15{rng.randrange(10**8, 10**9)}",
                "country": country,
                "lifecycle_stage": rng.choice(STAGES),
                "ip_address": ".".join(
                    [
                        "10",
                        str(rng.randrange(256)),
                        str(rng.randrange(256)),
                        str(rng.randrange(1, 255)),
                    ]
                ),
                "created_at": created.isoformat(),
                "updated_at": (created + dt.timedelta(days=rng.randrange(0, 30))).isoformat(),
            }
        )
    return rows


def write_contacts(rows: list[dict], out_dir: Path) -> None:
    """Two nightly exports: the second one updates some contacts and adds new ones."""
    folder = out_dir / "crm"
    folder.mkdir(parents=True, exist_ok=True)
    first_day = [r for r in rows if r["contact_id"] <= 300]
    second_day = [dict(r, lifecycle_stage="customer") for r in rows if r["contact_id"] % 10 == 0]
    second_day = [r for r in second_day if r["contact_id"] <= 300]
    second_day += [r for r in rows if r["contact_id"] > 300]
    for name, batch in (
        ("contacts_2026-11-01.csv", first_day),
        ("contacts_2026-11-02.csv", second_day),
    ):
        with (folder / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(batch)


def write_orders(rng: random.Random, people: list[dict], out_dir: Path) -> None:
    """Web-shop orders as JSON lines, with nested line items and a shipping address."""
    folder = out_dir / "webshop"
    folder.mkdir(parents=True, exist_ok=True)
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    skus = [
        ("BOOT-001", 129.0),
        ("SCARF-07", 24.5),
        ("GLOVE-3", 19.9),
        ("COAT-11", 249.0),
        ("HAT-02", 29.0),
        ("SOCK-5P", 12.0),
    ]
    with (folder / "orders_2026-10.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(1, ORDERS + 1):
            person = rng.choice(people)
            items = []
            for _ in range(rng.randint(1, 3)):
                sku, price = rng.choice(skus)
                items.append({"sku": sku, "quantity": rng.randint(1, 2), "unit_price": price})
            total = round(sum(it["quantity"] * it["unit_price"] for it in items), 2)
            order = {
                "order_id": f"ord_{i:06d}",
                "customer_email": person["email"].strip().lower(),
                "ordered_at": (
                    start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 31))
                ).isoformat(),
                "currency": "EUR",
                "total_amount": total,
                "status": rng.choices(["paid", "shipped", "refunded", "cancelled"], [5, 10, 1, 1])[
                    0
                ],
                "items": items,
                "shipping": {
                    "country": person["country"].upper(),
                    "city": rng.choice(["Berlin", "Paris", "Madrid", "Rome", "Amsterdam"]),
                },
            }
            fh.write(json.dumps(order, ensure_ascii=False) + "\n")


def write_ad_spend(rng: random.Random, out_dir: Path) -> None:
    """Daily spend per campaign for October, as parquet (what ad platforms' exports look like)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = out_dir / "ads"
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for day in range(31):
        date = dt.date(2026, 10, 1) + dt.timedelta(days=day)
        for campaign_id, campaign_name, channel in CAMPAIGNS:
            impressions = rng.randrange(2_000, 60_000)
            clicks = rng.randrange(impressions // 200, impressions // 40)
            records.append(
                {
                    "date": date,
                    "campaign_id": campaign_id,
                    "campaign_name": campaign_name,
                    "channel": channel,
                    "impressions": impressions,
                    "clicks": clicks,
                    "spend_eur": round(clicks * rng.uniform(0.2, 1.8), 2),
                    "conversions": rng.randrange(0, max(1, clicks // 25)),
                }
            )
    table = pa.Table.from_pylist(records)
    pq.write_table(table, folder / "ad_spend_2026-10.parquet", compression="zstd")


def main(out_dir: Path = SAMPLES) -> None:
    """Write every sample file under ``out_dir`` (data/samples/ by default)."""
    rng = random.Random(SEED)
    people = contacts(rng)
    write_contacts(people, out_dir)
    write_orders(rng, people, out_dir)
    write_ad_spend(rng, out_dir)
    for path in sorted(out_dir.rglob("*.*")):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
