"""A user's roles are read once per user object and read again after any assignment changes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from govhall.accounts.guards import staff_has_role, staff_may_act_in_region
from govhall.accounts.models import Role, StaffAssignment
from govhall.org.models import Region
from tests.factories import make_department, make_staff

pytestmark = pytest.mark.django_db


def test_roles_are_read_once_then_again_after_a_change() -> None:
    staff = make_staff(role=Role.REVIEWER, region_code="330106")
    assert staff_has_role(user=staff, role=Role.REVIEWER)
    with CaptureQueriesContext(connection) as captured:
        assert staff_has_role(user=staff, role=Role.REVIEWER)
        assert not staff_has_role(user=staff, role=Role.SUPERVISOR)
    assert len(captured.captured_queries) == 0

    department = make_department(region_code="330100", kind="market")
    StaffAssignment.objects.create(user=staff, department=department, role=Role.SUPERVISOR)
    assert staff_has_role(user=staff, role=Role.SUPERVISOR)
    assert staff_may_act_in_region(user=staff, role=Role.SUPERVISOR, region=Region.objects.get(code="330106"))

    StaffAssignment.objects.filter(user=staff, role=Role.SUPERVISOR).delete()  # a queryset delete sends post_delete
    assert not staff_has_role(user=staff, role=Role.SUPERVISOR)


def test_an_inactive_user_holds_no_role() -> None:
    staff = make_staff(role=Role.REVIEWER, region_code="330106")
    staff.is_active = False
    assert not staff_has_role(user=staff, role=Role.REVIEWER)
