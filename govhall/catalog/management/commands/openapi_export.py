"""Write the public API's OpenAPI document to docs/openapi.json, the committed copy.

The committed copy lets reviewers see every change to the public contract in a diff; the test
suite fails when the live document and the copy differ.
"""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

OPENAPI_PATH = Path(settings.BASE_DIR) / "docs" / "openapi.json"
EXPORT_COMMAND = ".venv/bin/python manage.py openapi_export"


def openapi_document() -> dict[str, Any]:
    from govhall.api import api

    return api.get_openapi_schema()


def openapi_render(document: dict[str, Any]) -> str:
    """The canonical text: sorted keys, two-space indent, UTF-8 text as is, a final newline."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Write the OpenAPI document of /api/v1/ to docs/openapi.json (or check it with --check)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="Fail if docs/openapi.json is out of date.")
        parser.add_argument("--output", type=Path, default=OPENAPI_PATH, help="Where to write the document.")

    def handle(self, *args: Any, check: bool = False, output: Path = OPENAPI_PATH, **options: Any) -> None:
        text = openapi_render(openapi_document())
        if check:
            current = output.read_text(encoding="utf-8") if output.exists() else ""
            if current != text:
                raise CommandError(f"{output} is out of date; run: {EXPORT_COMMAND}")
            self.stdout.write(f"{output} is up to date.")
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {output}.")
