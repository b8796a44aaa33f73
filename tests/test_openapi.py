"""The OpenAPI document of /api/v1/: the committed copy in docs/openapi.json is the live one."""

import json

import pytest

from govhall.catalog.management.commands.openapi_export import EXPORT_COMMAND, OPENAPI_PATH, openapi_render

OPENAPI_URL = "/api/v1/openapi.json"


def live_document(client, language: str = "zh-hans") -> dict:
    response = client.get(OPENAPI_URL, headers={"accept-language": language})
    assert response.status_code == 200
    return json.loads(response.content)


def test_committed_openapi_document_matches_the_live_one(client):
    committed = OPENAPI_PATH.read_text(encoding="utf-8") if OPENAPI_PATH.exists() else ""

    live = openapi_render(live_document(client))

    assert live == committed, f"docs/openapi.json differs from the live API document; run: {EXPORT_COMMAND}"


def test_openapi_document_does_not_depend_on_the_request_language(client):
    assert live_document(client, "en") == live_document(client, "zh-hans")


def test_openapi_document_describes_the_api_in_zh_hans_and_english(client):
    info = live_document(client)["info"]

    assert info["version"] == "1.0.0"
    assert "政务服务" in info["title"] and "API" in info["title"]
    assert "一体化在线政务服务平台" in info["description"] and "government services" in info["description"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/implementations",
        "/api/v1/implementations/{implementation_code}",
        "/api/v1/implementations/{implementation_code}/versions",
        "/api/v1/licences/lookup",
        "/api/v1/licences/verify",
        "/api/v1/licences/verify-file",
        "/api/v1/regions",
        "/api/v1/regions/{code}",
        "/api/v1/departments",
        "/api/v1/themes",
        "/api/v1/applications",
        "/api/v1/applications/{reference}",
        "/api/v1/applications/{reference}/materials",
        "/api/v1/applications/{reference}/submit",
        "/api/v1/cases",
        "/api/v1/cases/with-materials",
        "/api/v1/cases/{number}",
        "/api/v1/cases/{number}/correction",
        "/api/v1/cases/{number}/withdraw",
        "/api/v1/workbench/cases/{number}",
        "/api/v1/workbench/tasks",
        "/api/v1/workbench/tasks/{task_id}/actions",
    ],
)
def test_every_endpoint_documents_the_error_envelope_for_404_and_422(client, path):
    document = live_document(client)
    # The case endpoints' 422 names the field of the application each problem concerns: the
    # same envelope, its details carrying one more key.
    envelopes = {"#/components/schemas/ErrorOut", "#/components/schemas/CaseErrorOut"}

    for operation in document["paths"][path].values():
        responses = operation["responses"]
        assert responses["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
        assert responses["422"]["content"]["application/json"]["schema"]["$ref"] in envelopes
    for body in ("ErrorBodyOut", "CaseErrorBodyOut"):
        error_body = document["components"]["schemas"][body]
        assert set(error_body["required"]) == {"code", "message", "message_en", "details"}


def test_openapi_document_lists_exactly_the_public_endpoints(client):
    assert sorted(live_document(client)["paths"]) == [
        "/api/v1/applications",
        "/api/v1/applications/{reference}",
        "/api/v1/applications/{reference}/materials",
        "/api/v1/applications/{reference}/submit",
        "/api/v1/cases",
        "/api/v1/cases/with-materials",
        "/api/v1/cases/{number}",
        "/api/v1/cases/{number}/correction",
        "/api/v1/cases/{number}/withdraw",
        "/api/v1/departments",
        "/api/v1/figures/breakdown",
        "/api/v1/figures/tiles",
        "/api/v1/implementations",
        "/api/v1/implementations/{implementation_code}",
        "/api/v1/implementations/{implementation_code}/versions",
        "/api/v1/licences/lookup",
        "/api/v1/licences/verify",
        "/api/v1/licences/verify-file",
        "/api/v1/regions",
        "/api/v1/regions/{code}",
        "/api/v1/themes",
        "/api/v1/workbench/cases/{number}",
        "/api/v1/workbench/tasks",
        "/api/v1/workbench/tasks/{task_id}/actions",
    ]
