import pytest
from django.urls import reverse

from govhall.portal.middleware import ELDER_MODE_COOKIE
from tests.factories import make_implementation

pytestmark = pytest.mark.django_db

ELDER_URL = reverse("portal:elder_mode")


def test_switching_elder_mode_on_sets_the_cookie_and_returns_to_the_page(client):
    response = client.post(ELDER_URL, {"elder": "1", "next": "/themes/?page=2"})

    assert response.status_code == 302
    assert response["Location"] == "/themes/?page=2"
    cookie = response.cookies[ELDER_MODE_COOKIE]
    assert cookie.value == "1"
    assert cookie["max-age"] == 365 * 24 * 3600
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_elder_mode_stays_on_across_pages(client):
    implementation = make_implementation()
    client.post(ELDER_URL, {"elder": "1", "next": "/"})

    for path in ("/", "/themes/", reverse("portal:guide", args=[implementation.implementation_code])):
        content = client.get(path).content.decode()
        assert '<body class="elder">' in content, path
        assert "退出长辈版" in content, path


def test_switching_elder_mode_off_clears_the_cookie(client):
    client.post(ELDER_URL, {"elder": "1", "next": "/"})

    response = client.post(ELDER_URL, {"elder": "0", "next": "/"})

    assert response.cookies[ELDER_MODE_COOKIE].value == ""
    assert response.cookies[ELDER_MODE_COOKIE]["max-age"] == 0
    content = client.get("/").content.decode()
    assert '<body class="">' in content
    assert "长辈版" in content and "退出长辈版" not in content


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/phish", "//evil.example/", "javascript:alert(1)", "http://testserver.evil.example/", ""],
)
def test_switch_refuses_to_redirect_outside_the_site(client, next_url):
    response = client.post(ELDER_URL, {"elder": "1", "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_switch_answers_only_post(client):
    assert client.get(ELDER_URL).status_code == 405


def test_switch_requires_the_csrf_token(client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    assert strict.post(ELDER_URL, {"elder": "1", "next": "/"}).status_code == 403


def test_every_portal_page_has_the_switch_as_a_form_with_csrf(client):
    content = client.get("/").content.decode()

    assert f'action="{ELDER_URL}"' in content
    assert 'name="csrfmiddlewaretoken"' in content
    assert '<input type="hidden" name="next" value="/">' in content


def test_elder_mode_uses_plain_labels(client):
    client.cookies[ELDER_MODE_COOKIE] = "1"

    content = client.get("/").content.decode()

    assert "找服务" in content
    assert "按部门找" in content


def test_unexpected_cookie_value_leaves_elder_mode_off(client):
    client.cookies[ELDER_MODE_COOKIE] = "yes please"

    assert '<body class="">' in client.get("/").content.decode()
