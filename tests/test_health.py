import json
import logging

import pytest

from govhall.logs import JsonFormatter

pytestmark = pytest.mark.django_db


def test_health_reports_database_and_migrations_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "pending_migrations": 0}


def test_log_lines_are_json_with_extra_fields():
    record = logging.makeLogRecord(
        {"name": "govhall.test", "levelname": "INFO", "msg": "case %s accepted", "args": ("330106",), "case_id": 7}
    )

    line = json.loads(JsonFormatter().format(record))

    assert (line["message"], line["logger"], line["level"], line["case_id"]) == (
        "case 330106 accepted",
        "govhall.test",
        "INFO",
        7,
    )
