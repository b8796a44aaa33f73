"""Messages sent to people (SMS, e-mail), as the development outbox keeps them."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SMS = "sms", _("短信")
    EMAIL = "email", _("电子邮件")


class OutboxMessage(models.Model):
    """A message the OutboxBackend "sent": kept here so whoever runs the demo can read it.

    The recipient is personal data: it is stored encrypted and masked, never in clear. The body
    is kept as sent, because reading the code in it is the point of the outbox.
    """

    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    channel = models.CharField(_("渠道"), max_length=8, choices=Channel.choices)
    purpose = models.CharField(_("用途"), max_length=32)
    recipient_encrypted = models.CharField(_("收件人（密文）"), max_length=512)
    recipient_masked = models.CharField(_("收件人"), max_length=255)
    body = models.TextField(_("内容"))

    class Meta:
        verbose_name = _("发件箱消息")
        verbose_name_plural = _("发件箱消息")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.channel} {self.recipient_masked}"


class InboxMessage(models.Model):
    """A message in a person's message centre (站内消息), shown on their pages."""

    user = models.ForeignKey(
        "accounts.User", verbose_name=_("收件人"), on_delete=models.CASCADE, related_name="inbox_messages"
    )
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    subject = models.CharField(_("标题"), max_length=128)
    body = models.TextField(_("内容"))
    link = models.CharField(_("链接"), max_length=255, blank=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return self.subject
