"""govhall.workers: what a web worker runs requests with. A request leaves no reference cycle
behind once its response is closed, so the collector has nothing of it to find."""

import gc
import io
import sys

import pytest
from django import forms
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import HttpRequest
from django.template import engines
from django.template.context import Context, ContextDict
from django.test import Client, override_settings
from django.utils.functional import SimpleLazyObject

from govhall.accounts.models import User
from govhall.workers import Handler
from tests.cases.factories import case_world, make_case, task_open
from tests.cases.test_api import bearer
from tests.factories import force_login_verified

pytestmark = pytest.mark.django_db

DJANGO_BACKEND = "django.template.backends.django.DjangoTemplates"


def _environ(path: str, **headers: str) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
    }
    environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    return environ


def _served(handler: WSGIHandler, environ: dict, expected: str) -> None:
    """As a WSGI server serves: the response started, its body read, then closed. The test's
    connection is kept open, as the test client keeps it (its transaction holds the data)."""
    started = []
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = handler(environ, lambda status, headers, exc_info=None: started.append(status))
        body = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert started == ["200 OK"], body[:500]
    assert expected.encode() in body


def _left_in_cycles(handler: WSGIHandler, environ: dict, expected: str) -> list:
    """What the last of a few requests left for the collector."""
    for _ in range(3):  # what the first requests make for good (caches) is not garbage
        _served(handler, environ, expected)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        _served(handler, environ, expected)
        gc.collect()
        return list(gc.garbage)
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()


def _kinds(objects: list) -> set:
    """The request, the user, the session and the template's context, when left in a cycle."""
    return {
        kind
        for kind, types in (
            ("request", HttpRequest),
            ("user", (User, AnonymousUser)),
            ("session", SessionBase),
            ("template context", (Context, ContextDict)),
        )
        for found in objects
        if isinstance(found, types)
    }


@pytest.fixture
def requests():
    world = case_world()
    case = make_case(world=world)
    assert task_open(case, kind="prereview") is not None  # on the clerk's to-do list
    client = Client()
    force_login_verified(client, world.clerk)
    signed_in = {"cookie": "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())}
    number = case.number
    return {
        # an officer's to-do list through the API, with a bearer token
        "api": (_environ("/api/v1/workbench/tasks", authorization=bearer(world.clerk)["Authorization"]), number),
        # a staff page with a signed-in session, verified by a second factor (django-otp's user),
        # rendered from a template
        "page": (_environ("/workbench/cases/", **signed_in), number),
    }


def test_a_workers_request_leaves_nothing_for_the_collector(requests):
    handler = Handler()
    assert _left_in_cycles(handler, *requests["api"]) == []
    # Nor does a page, its forms' bound fields included.
    assert _left_in_cycles(handler, *requests["page"]) == []


def test_djangos_own_request_leaves_cycles(requests):
    # What the test above would see without the worker's request and the template backend: the
    # same requests, Django's handler and its template backend.
    handler = WSGIHandler()
    assert _kinds(_left_in_cycles(handler, *requests["api"])) == {"request", "user", "session"}
    with override_settings(TEMPLATES=[{**settings.TEMPLATES[0], "BACKEND": DJANGO_BACKEND}]):
        assert _kinds(_left_in_cycles(handler, *requests["page"])) == {
            "request",
            "user",
            "session",
            "template context",
        }


class _NameForm(forms.Form):
    name = forms.CharField()


def test_a_rendered_pages_forms_keep_no_bound_fields_and_render_again():
    form, listed = _NameForm({"name": "西湖"}), _NameForm()
    formset = forms.formset_factory(_NameForm, extra=2)()
    template = engines["django"].from_string(
        "{{ form.name }}{% for each in formset %}{{ each.name }}{% endfor %}"
        "{% for each in listed %}{{ each }}{% endfor %}"
    )
    first = template.render({"form": form, "formset": formset, "listed": [listed]})
    assert 'value="西湖"' in first
    assert [f._bound_fields_cache for f in (form, listed, *formset.forms)] == [{}, {}, {}, {}]
    assert template.render({"form": form, "formset": formset, "listed": [listed]}) == first


def test_a_renders_lazy_values_are_not_evaluated_when_its_forms_are_let_go():
    # The context processors' user and csrf_token are lazy: reading them is a query, and a CSRF
    # cookie set on the page's answer.
    evaluated = []
    lazy = SimpleLazyObject(lambda: evaluated.append("read") or _NameForm())
    listed = [SimpleLazyObject(lambda: evaluated.append("listed") or 1)]
    engines["django"].from_string("{{ name }}").render({"name": "西湖", "lazy": lazy, "listed": listed})
    assert evaluated == []
