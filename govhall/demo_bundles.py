"""Demo life-event bundles (一件事): 开办企业 and 新生儿出生, over the demo catalogue's entries.

Read from govhall/catalog/demo_data/bundles.json. ``demo_load`` calls ``demo_bundles_load`` after
the catalogue is published; loading twice changes nothing. A bundle whose entries are not all in
the catalogue is left out (and reported by the return value being smaller).
"""

import json
from pathlib import Path
from typing import Any

from django.db import transaction

from govhall.audit.services import audit_record_add
from govhall.catalog import selectors as catalog
from govhall.catalog.models import Bundle, BundleItem

BUNDLES_JSON = Path(__file__).resolve().parent / "catalog" / "demo_data" / "bundles.json"


def demo_bundles_load() -> int:
    """Create the demo bundles that do not exist yet; returns how many were created."""
    created = 0
    for listed in json.loads(BUNDLES_JSON.read_text(encoding="utf-8")):
        if Bundle.objects.filter(code=listed["code"]).exists():
            continue
        entries = [catalog.entry_get(basic_code=item["basic_code"]) for item in listed["items"]]
        if any(entry is None for entry in entries):
            continue
        _bundle_create(listed, entries)
        created += 1
    return created


def _bundle_create(listed: dict[str, Any], entries: list[Any]) -> Bundle:
    # No catalogue service defines bundles yet; this writes the two tables and the audit record
    # in one transaction, as such a service would.
    with transaction.atomic():
        bundle = Bundle.objects.create(
            code=listed["code"],
            name=listed["name"],
            description=listed.get("description", ""),
            audience=listed["audience"],
            theme=catalog.theme_get(code=listed["theme"]) if listed.get("theme") else None,
        )
        BundleItem.objects.bulk_create(
            BundleItem(bundle=bundle, entry=entry, order=order, department_kind=item.get("department_kind", ""))
            for order, (item, entry) in enumerate(zip(listed["items"], entries, strict=True), start=1)
        )
        audit_record_add(
            actor=None,
            action="bundle_define",
            object_type="bundle",
            object_id=bundle.code,
            summary=bundle.name,
            data={"entries": [entry.basic_code for entry in entries]},
        )
    return bundle
