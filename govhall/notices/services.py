"""Sending messages (SMS, e-mail) through the configured backend."""

from typing import Literal

from django.conf import settings
from django.utils.module_loading import import_string

from govhall.notices.backends import MessageBackend

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
