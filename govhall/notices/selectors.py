"""Reads of the development outbox."""

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from govhall.notices.backends import OutboxBackend
from govhall.notices.models import InboxMessage, OutboxMessage
from govhall.notices.services import DEFAULT_BACKEND

OUTBOX_PAGE_SIZE = 50


def outbox_is_enabled() -> bool:
    """True only while the outbox is the configured backend: with a real provider there is
    nothing to show, and the page must not exist."""
    backend = import_string(getattr(settings, "GOVHALL_MESSAGE_BACKEND", DEFAULT_BACKEND))
    return isinstance(backend, type) and issubclass(backend, OutboxBackend)


def outbox_latest(*, limit: int = OUTBOX_PAGE_SIZE) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.order_by("-created_at", "-id")[:limit])


def inbox_latest(*, user: Any, limit: int = 50) -> list[InboxMessage]:
    return list(InboxMessage.objects.filter(user=user).order_by("-created_at", "-id")[:limit])


def inbox_unread_count(*, user: Any) -> int:
    return InboxMessage.objects.filter(user=user, read_at__isnull=True).count()
