"""Reads of people, companies and authorisations."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from govhall.accounts import privacy
from govhall.accounts.models import Agency, Company, Person
from govhall.org.identifiers import identity_number_normalise
from govhall.queries import values_list_compiled


@dataclass(frozen=True)
class ActingCapacity:
    """A company a person may act for, and how: as legal representative or as an agent."""

    company: Company
    as_legal_representative: bool
    all_services: bool
    service_codes: tuple[str, ...]
    valid_until: date | None


def person_get_by_identity_number(*, identity_number: str) -> Person | None:
    index = privacy.blind_index(identity_number_normalise(identity_number), purpose="identity_number")
    return Person.objects.filter(identity_number_index=index).select_related("user").first()


def agencies_active_query(*, on: date | None = None) -> Q:
    """Authorisations in force on a day: not withdrawn and not past their date."""
    return Q(withdrawn_at__isnull=True, valid_until__gte=on or timezone.localdate())


def person_acting_capacities(*, person: Person, on: date | None = None) -> list[ActingCapacity]:
    """Every company the person may act for today (two queries whatever the number)."""
    capacities = [
        ActingCapacity(
            company=company, as_legal_representative=True, all_services=True, service_codes=(), valid_until=None
        )
        for company in Company.objects.filter(legal_representative=person).order_by("name")
    ]
    agencies = (
        Agency.objects.filter(agencies_active_query(on=on), agent=person)
        .select_related("company")
        .prefetch_related("services")
        .order_by("company__name")
    )
    capacities += [
        ActingCapacity(
            company=agency.company,
            as_legal_representative=False,
            all_services=agency.all_services,
            service_codes=tuple(sorted(entry.basic_code for entry in agency.services.all())),
            valid_until=agency.valid_until,
        )
        for agency in agencies
    ]
    return capacities


def person_acting_scope(*, person: Person, on: date | None = None) -> tuple[list[int], dict[int, set[str]]]:
    """What ``person_acting_capacities`` says, as ids: the companies the person may act for in
    every service today (as legal representative, or by an authorisation for all services), and
    for each other company the services (basic codes) its authorisations cover. "My cases" asks
    this on every list, so it is read as values by statements compiled once per process (ADR 11):
    building the companies and authorisations as models took a sixth of the portal's list."""
    today = on or timezone.localdate()
    every = {row[0] for row in values_list_compiled("companies_represented", _represented, int(person.pk))}
    services: dict[int, set[str]] = {}
    for company_id, all_services, code in values_list_compiled(
        "agencies_in_force", _agencies_in_force, int(person.pk), today
    ):
        if all_services:
            every.add(company_id)
        elif code:
            services.setdefault(company_id, set()).add(code)
    return sorted(every), {company: codes for company, codes in services.items() if company not in every}


def _represented(person_id: int) -> QuerySet[Company, Any]:
    return Company.objects.filter(legal_representative_id=person_id).order_by().values_list("id")


def _agencies_in_force(person_id: int, today: date) -> QuerySet[Agency, Any]:
    return (
        Agency.objects.filter(agencies_active_query(on=today), agent_id=person_id)
        .order_by()
        .values_list("company_id", "all_services", "services__basic_code")
    )


def company_agencies(*, company: Company) -> list[Agency]:
    """The company's authorisations, in force first, for its legal representative's page."""
    return list(
        Agency.objects.filter(company=company)
        .select_related("agent")
        .prefetch_related("services")
        .order_by("withdrawn_at", "-valid_until", "-granted_at")
    )
