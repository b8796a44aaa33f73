"""The message adapter and the development outbox page."""

import pytest
from django.urls import reverse

from govhall.accounts import privacy
from govhall.notices.models import OutboxMessage
from govhall.notices.services import message_send

pytestmark = pytest.mark.django_db


def test_outbox_backend_keeps_the_body_and_only_a_masked_and_encrypted_recipient():
    message_send(channel="sms", to="13912345678", body="验证码 123456", purpose="login")

    message = OutboxMessage.objects.get()
    assert message.body == "验证码 123456"
    assert message.recipient_masked == "139****5678"
    assert "13912345678" not in message.recipient_encrypted
    assert privacy.decrypt(message.recipient_encrypted, purpose="outbox_recipient") == "13912345678"


def test_email_recipient_is_masked_to_first_letter_and_domain():
    message_send(channel="email", to="zhangsan@example.cn", body="hello", purpose="notice")

    assert OutboxMessage.objects.get().recipient_masked == "z***@example.cn"


def test_outbox_page_lists_latest_messages_newest_first(client):
    message_send(channel="sms", to="13912345678", body="第一条", purpose="login")
    message_send(channel="sms", to="13812345678", body="第二条", purpose="login")

    response = client.get(reverse("notices:outbox"))

    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("第二条") < page.index("第一条")
    assert "139****5678" in page
    assert "13912345678" not in page


def test_outbox_page_is_not_found_with_a_real_provider_configured(client, settings):
    settings.GOVHALL_MESSAGE_BACKEND = "govhall.notices.backends.LoggingBackend"

    message_send(channel="sms", to="13912345678", body="验证码 123456", purpose="login")

    assert client.get(reverse("notices:outbox")).status_code == 404
    assert OutboxMessage.objects.count() == 0
