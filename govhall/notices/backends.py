"""Message backends: where ``message_send`` hands a message over.

``settings.GOVHALL_MESSAGE_BACKEND`` names the backend class by dotted path. A backend is any
class with ``send(self, *, channel, to, body, purpose) -> None``; a real SMS provider is plugged in
by writing such a class around the provider's client (see ``LoggingBackend``) and naming it in the
setting (environment variable ``GOVHALL_MESSAGE_BACKEND``).
"""

import logging
from typing import Protocol

from govhall.accounts import privacy
from govhall.notices.models import OutboxMessage
from govhall.queries import insert_compiled

logger = logging.getLogger("govhall.notices")


class MessageBackend(Protocol):
    def send(self, *, channel: str, to: str, body: str, purpose: str) -> None: ...


def mask_recipient(*, channel: str, to: str) -> str:
    """``138****1234`` for a phone; ``z***@example.cn`` for an e-mail address."""
    if channel == "email":
        local, _at, domain = to.partition("@")
        return f"{local[:1]}***@{domain}"
    return privacy.mask_phone(to)


class OutboxBackend:
    """The development backend: nothing leaves the machine; messages wait in the outbox table,
    readable at /dev/outbox/ (which exists only while this backend is configured)."""

    def send(self, *, channel: str, to: str, body: str, purpose: str) -> None:
        insert_compiled(
            OutboxMessage(
                channel=channel,
                purpose=purpose,
                recipient_encrypted=privacy.encrypt(to, purpose="outbox_recipient"),
                recipient_masked=mask_recipient(channel=channel, to=to),
                body=body,
            )
        )


class LoggingBackend:
    """An example of wiring a provider: a real backend would call the SMS gateway's client here
    (with its credentials read from settings / the environment) and raise on failure.

    It logs only the masked recipient and the purpose: message bodies carry one-time codes,
    which must not reach the logs.
    """

    def send(self, *, channel: str, to: str, body: str, purpose: str) -> None:
        logger.info(
            "message handed to provider",
            extra={"channel": channel, "recipient": mask_recipient(channel=channel, to=to), "purpose": purpose},
        )
