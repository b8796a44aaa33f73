"""Helpers shared by the login, registration, code and session tests."""

import re

from govhall.notices.models import OutboxMessage

CODE_IN_BODY = re.compile(r"(\d{6})")


def latest_code() -> str:
    """The code in the newest outbox message, as a person trying the demo would read it."""
    message = OutboxMessage.objects.order_by("-created_at", "-id").first()
    assert message is not None, "no message in the outbox"
    match = CODE_IN_BODY.search(message.body)
    assert match is not None
    return match.group(1)
