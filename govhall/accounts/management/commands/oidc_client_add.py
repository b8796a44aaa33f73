"""Register a department system as an OpenID Connect client; prints its client id and secret."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from govhall.accounts.oidc import oidc_client_create


class Command(BaseCommand):
    help = "Register a department system (OIDC client) and print its client id and secret, shown only once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="the department system's name, shown on the consent page")
        parser.add_argument(
            "--redirect-uri", action="append", required=True, dest="redirect_uris", help="may be given several times"
        )

    def handle(self, *args: Any, name: str, redirect_uris: list[str], **options: Any) -> None:
        application, secret = oidc_client_create(name=name, redirect_uris=redirect_uris)
        self.stdout.write(f"client_id: {application.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write("The secret is stored hashed and cannot be shown again.")
