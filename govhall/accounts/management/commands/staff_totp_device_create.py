"""Give a staff member a new TOTP device (replacing any earlier one) and print its secret once."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from govhall.accounts.models import User
from govhall.accounts.totp import staff_totp_device_create


class Command(BaseCommand):
    help = "Create (or replace) a staff member's TOTP device and print the secret and otpauth:// URI once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        _device, secret, uri = staff_totp_device_create(user=user)
        self.stdout.write(f"secret (base32): {secret}")
        self.stdout.write(f"otpauth URI: {uri}")
        self.stdout.write("Enter the secret in an authenticator app; it is not shown again.")
