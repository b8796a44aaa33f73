"""Sending messages (SMS, e-mail) through the configured backend."""

from typing import Any, Literal

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from govhall.notices.backends import MessageBackend
from govhall.notices.models import InboxMessage
from govhall.queries import insert_compiled

DEFAULT_BACKEND = "govhall.notices.backends.OutboxBackend"


def message_backend() -> MessageBackend:
    """The backend named by ``settings.GOVHALL_MESSAGE_BACKEND``, read at call time so tests and
    deployments can switch it."""
    path = getattr(settings, "GOVHALL_MESSAGE_BACKEND", DEFAULT_BACKEND)
    return import_string(path)()


def message_send(*, channel: Literal["sms", "email"], to: str, body: str, purpose: str) -> None:
    """Hand one message to the backend. Call it inside the transaction that decided to send, so
    the outbox row and its audit record commit together."""
    message_backend().send(channel=channel, to=to, body=body, purpose=purpose)


def inbox_message_add(*, user: Any, subject: str, body: str, link: str = "") -> InboxMessage:
    """Put a message in the user's message centre (inside the caller's transaction)."""
    return insert_compiled(InboxMessage(user=user, subject=subject[:128], body=body, link=link[:255]))


def inbox_message_read(*, user: Any, message_id: int) -> InboxMessage | None:
    """Mark one of the user's own messages read; another user's message is "not found"."""
    message = InboxMessage.objects.filter(user=user, pk=message_id).first()
    if message is not None and message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
    return message


def person_notify(*, user: Any, subject: str, body: str, link: str = "", purpose: str) -> None:
    """Tell an applicant something: a message-centre entry, and an SMS to the phone the person
    registered (decrypted only to hand it to the message backend)."""
    from govhall.accounts import privacy

    inbox_message_add(user=user, subject=subject, body=body, link=link)
    person = getattr(user, "person", None) if user is not None else None
    if person is not None and person.phone_encrypted:
        phone = privacy.decrypt(person.phone_encrypted, purpose="phone")
        message_send(channel="sms", to=phone, body=f"【政务服务】{subject}：{body}", purpose=purpose)
