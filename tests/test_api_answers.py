"""Answers written by ``govhall.api_schema.answer``: the bytes ninja writes after validating the
same dict against the response schema, and checked against it wherever the checks are on (ADR 32)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.test import RequestFactory, override_settings
from django.utils.translation import gettext_lazy
from pydantic import ValidationError

from govhall.api import api
from govhall.api_schema import AnswerDiffers, ResponseSchema, answer


class _PlaceOut(ResponseSchema):
    code: str
    name: str


class _RowOut(ResponseSchema):
    id: int
    label: str
    at: datetime
    due_on: date | None
    share: float
    place: _PlaceOut


class _PageOut(ResponseSchema):
    total: int
    items: list[_RowOut]


def _row(**changed):
    row = {
        "id": 7,
        "label": "暂停办理",
        "at": datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=UTC),
        "due_on": date(2026, 12, 30),
        "share": 0.25,
        "place": {"code": "330106", "name": "西湖区"},
    }
    return row | changed


def _request():
    return RequestFactory().get("/api/v1/")


def test_an_answer_is_the_bytes_ninja_writes_after_validating_it():
    data = {"total": 2, "items": [_row(), _row(id=8, due_on=None)]}
    response = answer(_request(), _PageOut, data)
    ninjas = api.create_response(_request(), _PageOut.model_validate(data).model_dump(), status=200)
    assert response.status_code == 200
    assert response["Content-Type"] == ninjas["Content-Type"] == "application/json; charset=utf-8"
    assert response.content == ninjas.content
    assert "西湖区".encode() in response.content


@pytest.mark.parametrize(
    ("name", "row"),
    [
        ("a date where a time is declared", _row(at=date(2026, 12, 8))),
        ("a key the schema does not have", _row(extra="kept")),
        ("a decimal where a float is declared", _row(share=Decimal("0.25"))),
        ("a nested key the schema does not have", _row(place={"code": "330106", "name": "西湖区", "x": 1})),
    ],
)
def test_an_answer_its_schema_would_write_otherwise_is_refused_where_checked(name, row):
    with override_settings(GOVHALL_CHECK_ANSWERS=True), pytest.raises(AnswerDiffers, match="_PageOut"):
        answer(_request(), _PageOut, {"total": 1, "items": [row]})


@pytest.mark.parametrize("label", [None, gettext_lazy("暂停办理")])
def test_an_answer_its_schema_refuses_is_refused_where_checked(label):
    # As ninja refuses it: a label is given as text, not as a lazy translation.
    with override_settings(GOVHALL_CHECK_ANSWERS=True), pytest.raises(ValidationError):
        answer(_request(), _PageOut, {"total": 1, "items": [_row(label=label)]})


def test_where_unchecked_the_answer_is_written_as_given():
    # Production writes what the endpoint built: that is why the checks run in the tests.
    with override_settings(GOVHALL_CHECK_ANSWERS=False):
        response = answer(_request(), _PageOut, {"total": 1, "items": [_row(extra="kept")]}, status=201)
    assert response.status_code == 201
    assert b'"extra":"kept"' in response.content


def test_the_checks_are_on_in_the_tests():
    from django.conf import settings

    assert settings.GOVHALL_CHECK_ANSWERS
