"""Who may do what with the issue's new pages: the window screen (staff handling the case), the
monthly report (supervisors, for their region), the figures by item (scoped like cases), the
published page (everyone, aggregates only)."""

import pytest
from django.utils import timezone

from govhall.evaluations.models import Invitation
from govhall.metrics.models import Report
from tests.cases.factories import case_world, make_case
from tests.factories import force_login_verified
from tests.metrics.test_figures import _generated

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return case_world()


# role → (may open the window screen, may ask for 杭州市's report, sees 西湖区's items)
MATRIX = {
    "clerk": (True, False, True),
    "reviewer": (True, False, True),
    "supervisor": (False, True, True),
    "other_city_supervisor": (False, False, False),
}


def _user(world, role):
    return getattr(world, role)


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_permission_matrix(world, client, role):
    may_open, may_report, sees_items = MATRIX[role]
    _generated(world)
    closed = make_case(world=world, until="completed")
    today = timezone.localdate()
    force_login_verified(client, _user(world, role))

    opened = client.post(f"/workbench/evaluations/window/{closed.number}/")
    asked = client.post("/workbench/figures/reports/", {"region": "330100", "month": today.strftime("%Y-%m")})
    items = client.get("/api/v1/figures/breakdown", {"by": "item", "region": "330106"}).json()

    assert Invitation.objects.filter(case=closed, channel="window").exists() is may_open
    assert (opened.status_code == 302 and opened["Location"].startswith("/rate/")) is may_open
    assert Report.objects.filter(region_id="330100").exists() is may_report
    assert (asked.status_code == 302) is may_report
    assert bool(items) is sees_items


def test_citizens_reach_neither_staff_page_and_everyone_reads_the_published_page(world, client):
    closed = make_case(world=world, until="completed")
    client.force_login(world.applicant.user)
    assert client.post(f"/workbench/evaluations/window/{closed.number}/").status_code in (302, 403, 404)
    assert not Invitation.objects.filter(channel="window").exists()
    assert client.post("/workbench/figures/reports/", {"region": "330100", "month": "2026-01"}).status_code != 302
    assert not Report.objects.exists()
    client.logout()
    assert client.get("/satisfaction/").status_code == 200
