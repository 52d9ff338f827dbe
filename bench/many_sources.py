"""Write N source files (copies of the bundled ones under new names) for the startup bench."""

from __future__ import annotations

from pathlib import Path

from pipelines.settings import PROJECT_ROOT

TEMPLATES = ["crm_contacts", "webshop_orders", "ad_spend", "hubspot_contacts", "stripe_customers"]


def write_sources(count: int, folder: Path) -> Path:
    """Fill ``folder`` with ``count`` valid source files of every kind; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    bodies = {name: (PROJECT_ROOT / "sources" / f"{name}.yaml").read_text() for name in TEMPLATES}
    for index in range(count):
        template = TEMPLATES[index % len(TEMPLATES)]
        name = f"{template[:30]}_{index:04d}"
        text = bodies[template].replace(f"name: {template}", f"name: {name}")
        text = text.replace("bucket_url: data/", f"bucket_url: {PROJECT_ROOT}/data/")
        (folder / f"{name}.yaml").write_text(text)
    return folder
