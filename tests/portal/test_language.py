import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_are_in_simplified_chinese_by_default(client):
    content = client.get("/").content.decode()

    assert '<html lang="zh-hans">' in content


def test_language_switch_is_a_form_that_needs_no_script(client):
    content = client.get("/themes/").content.decode()

    assert f'action="{reverse("set_language")}"' in content
    assert '<select id="language-select" name="language">' in content
    assert '<option value="en" lang="en">English</option>' in content
    assert '<input type="hidden" name="next" value="/themes/">' in content


def test_switching_to_english_sets_the_page_language_and_returns_to_the_page(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/themes/"})

    assert response.status_code == 302
    assert response["Location"] == "/themes/"
    assert '<html lang="en">' in client.get("/themes/").content.decode()
