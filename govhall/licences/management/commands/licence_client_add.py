"""``manage.py licence_client_add --name N --department CODE``: register a department system that
may look licences up (OAuth2 client credentials, scope ``licences``); prints its id and secret."""

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from oauth2_provider.models import Application

from govhall.audit.services import audit_record_add
from govhall.licences.models import LicenceLookupClient
from govhall.org.models import Department


class Command(BaseCommand):
    help = "Register a department system allowed to look licences up; prints its client id and secret once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--department", required=True, help="the department's code")

    def handle(self, *args: Any, name: str, department: str, **options: Any) -> None:
        found = Department.objects.filter(code=department).first()
        if found is None:
            raise CommandError(f"no department with code {department!r}")
        client, secret = licence_client_create(name=name, department=found)
        self.stdout.write(f"client_id: {client.application.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write("Token: POST /o/token/ grant_type=client_credentials scope=licences (HTTP Basic with these).")


def licence_client_create(*, name: str, department: Department) -> tuple[LicenceLookupClient, str]:
    secret = secrets.token_urlsafe(48)
    with transaction.atomic():
        application = Application.objects.create(
            name=name,
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
        )
        client = LicenceLookupClient.objects.create(application=application, department=department)
        audit_record_add(
            actor=None,
            action="licence_client_create",
            object_type="oidc_client",
            object_id=application.client_id,
            summary=f"{department.name} {name}",
        )
    return client, secret
