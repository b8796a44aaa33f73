"""The API's JSON: written by orjson, with the values it does not know as ninja's encoder wrote them."""

import json
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.utils.translation import gettext_lazy
from ninja import Schema
from ninja.responses import NinjaJSONEncoder

from govhall.api import api
from govhall.cases.models import CaseState
from tests.factories import XIHU, make_entry, make_implementation

SHANGHAI = timezone(timedelta(hours=8))


class _Shown(Schema):
    name: str
    at: datetime


VALUES = {
    "utc with microseconds": datetime(2026, 12, 5, 5, 42, 11, 123456, tzinfo=UTC),
    "utc whole second": datetime(2026, 12, 5, 5, 42, 11, tzinfo=UTC),
    "shanghai": datetime(2026, 12, 5, 13, 42, 11, 500, tzinfo=SHANGHAI),
    "naive": datetime(2026, 12, 5, 13, 42, 11, 999999),
    "date": date(2026, 12, 5),
    "time": time(8, 30, 0, 250000),
    "duration": timedelta(days=3, hours=2),
    "decimal": Decimal("12.50"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "lazy": gettext_lazy("暂停办理"),
    "choice": CaseState.SUBMITTED,
    "schema": _Shown(name="西湖区", at=datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)),
    "chinese": "杭州市西湖区市场监督管理局 “食品经营许可” <b>&",
    "nested": [{"a": None, "b": True, "c": 1.5, "d": [1, 2, 3]}],
}
# What orjson refuses: json writes them, as before.
REFUSED = {
    "keys that are not strings": {1: "one", 2: "two"},
    "an integer beyond 64 bits": 2**70,
}


def _rendered(data) -> bytes:
    request = RequestFactory().get("/api/v1/")
    return api.renderer.render(request, data, response_status=200)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_each_value_is_written_as_ninjas_encoder_wrote_it(name):
    data = {"value": VALUES[name]}
    expected = json.loads(json.dumps(data, cls=NinjaJSONEncoder, ensure_ascii=False))
    assert json.loads(_rendered(data)) == expected


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_orjson_refuses_is_still_written(name):
    data = {"value": REFUSED[name]}
    assert _rendered(data) == json.dumps(data, cls=NinjaJSONEncoder, ensure_ascii=False).encode()


def test_times_keep_milliseconds_and_z_for_utc():
    body = _rendered({"at": VALUES["utc with microseconds"], "local": VALUES["shanghai"]})
    assert json.loads(body) == {"at": "2026-12-05T05:42:11.123Z", "local": "2026-12-05T13:42:11.000+08:00"}


@pytest.mark.parametrize(("value", "error"), [(object(), TypeError), ("\ud800", UnicodeEncodeError)])
def test_what_json_could_not_write_either_is_still_an_error(value, error):
    with pytest.raises(error):
        _rendered({"value": value})


@pytest.mark.django_db
def test_an_answer_over_http_is_utf8_json_with_djangos_times(client):
    implementation = make_implementation(entry=make_entry(name="食品经营许可证核发"), region_code=XIHU)
    response = client.get(f"/api/v1/implementations/{implementation.implementation_code}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "食品经营许可证核发".encode() in response.content  # not \\u escapes
    published_at = response.json()["published_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?(Z|[+-]\d\d:\d\d)", published_at), published_at
