"""``manage.py licence_ca_init [--force]``: create the platform CA's key and certificate in
GOVHALL_SEAL_DIR (files, mode 0600)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from govhall.licences.seals import SealUnavailable, ca_init, seal_dir


class Command(BaseCommand):
    help = "Create the platform CA that certifies the departments' seals (keys kept in GOVHALL_SEAL_DIR)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="replace an existing CA (issued seals stop verifying)")

    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        try:
            certificate = ca_init(force=force)
        except SealUnavailable as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"CA created in {seal_dir()}: {certificate.subject.rfc4514_string()}")
