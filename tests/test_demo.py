"""The demo data set: loaded through the services, complete, and idempotent."""

import pytest
from django.db.models import Count

from govhall.accounts.models import Company, Person, User
from govhall.accounts.selectors import person_acting_capacities
from govhall.catalog.models import CatalogueChange, CatalogueEntry, Implementation, ItemState
from govhall.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_load
from govhall.org.models import Department

pytestmark = pytest.mark.django_db


def test_demo_catalogue_is_complete_its_accounts_log_in_and_loading_it_again_changes_nothing():
    first = demo_load()
    changes_after_first = CatalogueChange.objects.count()

    second = demo_load()

    assert first.entries_created >= 60
    assert (second.entries_created, second.implementations_created) == (0, 0)
    assert CatalogueChange.objects.count() == changes_after_first
    assert CatalogueEntry.objects.filter(state=ItemState.ACTIVE).count() == first.entries_created
    implemented_departments = Department.objects.filter(implementations__isnull=False).values("kind").distinct()
    assert implemented_departments.count() >= 10
    regions = set(Implementation.objects.values_list("region_id", flat=True))
    assert {"330000", "330100", "330200", "330106", "330110", "330203", "330212"} <= regions
    assert not Implementation.objects.annotate(n=Count("materials")).filter(n=0).exists()
    assert not Implementation.objects.annotate(n=Count("process_steps")).filter(n=0).exists()
    assert set(CatalogueChange.objects.values_list("state", flat=True)) == {"approved"}
    for account in DEMO_ACCOUNTS:
        assert User.objects.get(username=account.username).check_password(DEMO_PASSWORD), account.username
    levels = {person.name: person.assurance_level for person in Person.objects.all()}
    assert levels == {"张三": 1, "王五": 2, "李四": 2}
    company = Company.objects.get()
    assert [c.as_legal_representative for c in person_acting_capacities(person=Person.objects.get(name="李四"))] == [
        False
    ]
    assert company.legal_representative.name == "王五"
