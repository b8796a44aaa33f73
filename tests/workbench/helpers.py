"""Steps a person takes on the workbench, through HTTP."""

from typing import Any

from django.test import Client

from bench.page_forms import form_fields
from govhall.catalog.models import CatalogueChange, Implementation


def implementation_url(implementation: Implementation, page: str = "") -> str:
    return f"/workbench/implementations/{implementation.implementation_code}/{page}"


def change_form_as_shown(client: Client, url: str) -> dict[str, Any]:
    """The change form of ``url`` with the values the page shows, as a browser would submit it."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return form_fields(response.content.decode())


def latest_change() -> CatalogueChange | None:
    return CatalogueChange.objects.order_by("-id").first()
