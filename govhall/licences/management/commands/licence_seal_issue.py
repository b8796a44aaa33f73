"""``manage.py licence_seal_issue --department CODE``: a new seal (key file + certificate from the
platform CA) for a department; its earlier seals stop signing (they still verify)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from govhall.licences.models import SealAlgorithm
from govhall.licences.seals import SealUnavailable, seal_issue
from govhall.org.models import Department


class Command(BaseCommand):
    help = "Issue an electronic seal for a department (key in GOVHALL_SEAL_DIR, certificate from the platform CA)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--department", required=True, help="the department's code")
        parser.add_argument("--algorithm", default=SealAlgorithm.ECDSA_P256, choices=SealAlgorithm.values)

    def handle(self, *args: Any, department: str, algorithm: str, **options: Any) -> None:
        found = Department.objects.filter(code=department).first()
        if found is None:
            raise CommandError(f"no department with code {department!r}")
        try:
            seal = seal_issue(department=found, algorithm=algorithm)
        except SealUnavailable as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"seal {seal.certificate_serial} for {found.name}, valid until {seal.not_after:%Y-%m-%d}")
