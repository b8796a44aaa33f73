"""Adapters to the population and legal-person registries, used to raise assurance to L2.

A deployment names its adapter in settings (GOVHALL_IDENTITY_REGISTRY). The built-in adapter
reads the demo registry tables (RegistryPerson, RegistryCompany); a real one calls the
provincial population and legal-person databases through their exchange interfaces.
"""

from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from govhall.accounts import privacy
from govhall.accounts.models import RegistryCompany, RegistryPerson


@dataclass(frozen=True)
class RegisteredCompany:
    credit_code: str
    name: str
    kind: str
    legal_representative_matches: bool


class IdentityRegistry(Protocol):
    def person_matches(self, *, name: str, identity_number: str) -> bool:
        """True when the registry holds a person with exactly this name and identity number."""
        ...

    def company_find(self, *, credit_code: str, legal_representative_identity_number: str) -> RegisteredCompany | None:
        """The registered company with this credit code, or None."""
        ...


class DemoRegistry:
    """Reads the demo registry tables; the identity number is compared by its blind index."""

    def person_matches(self, *, name: str, identity_number: str) -> bool:
        index = privacy.blind_index(identity_number, purpose="identity_number")
        return RegistryPerson.objects.filter(identity_number_index=index, name=name).exists()

    def company_find(self, *, credit_code: str, legal_representative_identity_number: str) -> RegisteredCompany | None:
        record = RegistryCompany.objects.filter(credit_code=credit_code).first()
        if record is None:
            return None
        index = privacy.blind_index(legal_representative_identity_number, purpose="identity_number")
        return RegisteredCompany(
            credit_code=record.credit_code,
            name=record.name,
            kind=record.kind,
            legal_representative_matches=record.legal_representative_index == index,
        )


@cache
def _registry_class() -> type:
    return import_string(settings.GOVHALL_IDENTITY_REGISTRY)


def identity_registry() -> IdentityRegistry:
    return _registry_class()()


def demo_registry_person_add(*, name: str, identity_number: str) -> RegistryPerson:
    """Add a person to the built-in (demo) population registry; idempotent."""
    record, _created = RegistryPerson.objects.update_or_create(
        identity_number_index=privacy.blind_index(identity_number, purpose="identity_number"),
        defaults={"name": name},
    )
    return record


def demo_registry_company_add(
    *, credit_code: str, name: str, kind: str, legal_representative_identity_number: str
) -> RegistryCompany:
    """Add a company to the built-in (demo) legal-person registry; idempotent."""
    record, _created = RegistryCompany.objects.update_or_create(
        credit_code=credit_code,
        defaults={
            "name": name,
            "kind": kind,
            "legal_representative_index": privacy.blind_index(
                legal_representative_identity_number, purpose="identity_number"
            ),
        },
    )
    return record
